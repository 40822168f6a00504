//! Masking rules as people manage them: anyone signed in reads them (a
//! viewer without their `fixed` values and `sql` expressions, which may
//! carry the data's values); an admin, or the owner of an unprotected
//! database, saves them (an `sql` rule only an admin: it runs with
//! pgfleet's privileges in every fork); a preview of masked rows is for
//! those who may read the rules' text. Every save is audited with what it
//! changed.

use app::masking::{changes, touches_sql, MaskPreview, MaskRules, MaskingView};
use app::model::ApiError;
use app::policy::{allows, check, Action};

use super::{store_error, Actor, Fleet};

impl Fleet {
    pub async fn masking(&self, actor: &Actor, name: &str) -> Result<MaskingView, ApiError> {
        check(actor.role(), actor.name(), Action::Read)?;
        let db = self.engine.get(name).await?;
        let withhold = !allows(actor.role(), actor.name(), Action::SeeMaskingText(&db));
        Ok(self.engine.masking(name, withhold).await?)
    }

    pub async fn set_masking(&self, actor: &Actor, name: &str, rules: MaskRules) -> Result<MaskingView, ApiError> {
        let result = async {
            let db = self.engine.get(name).await?;
            let old = self.store.masking_rules(name).await.map_err(store_error)?.map(|r| r.rules).unwrap_or_default();
            let normalized = app::masking::normalize(rules.clone())
                .map_err(|e| ApiError::new(app::model::ErrorCode::Unprocessable, e))?;
            let sql = touches_sql(&old, &normalized);
            check(actor.role(), actor.name(), Action::EditMasking { db: &db, sql })?;
            let version = self.engine.set_masking(name, rules, Some(actor.name())).await?;
            Ok((version, changes(&old, &normalized), normalized.len()))
        }
        .await;
        let detail = result.as_ref().ok().map(|(version, what, n)| format!("version {version} ({n} rules): {what}"));
        self.audited(actor, "masking.update", Some(name), detail, result).await?;
        Ok(self.engine.masking(name, false).await?)
    }

    pub async fn masking_preview(&self, actor: &Actor, name: &str) -> Result<MaskPreview, ApiError> {
        let db = self.engine.get(name).await?;
        check(actor.role(), actor.name(), Action::SeeMaskingText(&db))?;
        Ok(self.engine.masking_preview(name).await?)
    }
}
