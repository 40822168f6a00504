//! A database's masking rules as the engine keeps them: saved as a new
//! version after they are checked against the database's own schema, read
//! back with the columns they leave uncovered and suggestions, previewed
//! on the database without writing anything. Applying them to a fork is
//! the reconciler's `masking` phase ([`super::reconciler`]); the SQL is
//! [`crate::insights::masking`]'s.
//!
//! A follower has no rules of its own: it carries its source's data, so
//! its forks are masked by its source's rules.

use app::masking::{normalize, MaskPreview, MaskRules, MaskingView};

use super::spec::Spec;
use super::{Engine, EngineError};
use crate::insights::masking::{self as sql, MaskError};
use crate::store::masking::SavedRules;
use crate::store::{Store, StoreError};

/// Versions listed with the rules.
const VERSIONS_SHOWN: i64 = 20;

/// Where the rules of `spec`'s forks live: its own, or its source's while
/// it follows.
pub fn rules_home(spec: &Spec) -> &str {
    spec.follows().unwrap_or(&spec.name)
}

/// The rules a fork of `source` is masked with, if it has any.
pub async fn rules_for_fork_of(store: &Store, source: &Spec) -> Result<Option<SavedRules>, StoreError> {
    Ok(store.masking_rules(rules_home(source)).await?.filter(|r| !r.rules.is_empty()))
}

impl Engine {
    /// `name`'s rules with what they leave uncovered and suggestions;
    /// `withhold` leaves out `fixed` values and `sql` expressions.
    pub async fn masking(&self, name: &str, withhold: bool) -> Result<MaskingView, EngineError> {
        let spec = self.spec(name).await?;
        let home = rules_home(&spec).to_string();
        let store = &self.inner.store;
        let saved = store.masking_rules(&home).await?;
        let rules = saved.as_ref().map(|s| s.rules.clone()).unwrap_or_default();
        let (uncovered, suggestions, schema_error) = match self.diagnostic_connection(name).await {
            Ok(mut conn) => {
                let read = async {
                    let columns = sql::columns(&mut conn).await?;
                    let suggestions = sql::suggestions(&mut conn, &rules).await?;
                    Ok::<_, crate::provisioner::ProvisionError>((sql::uncovered(&rules, &columns), suggestions))
                };
                match read.await {
                    Ok((uncovered, suggestions)) => (uncovered, suggestions, None),
                    Err(e) => (Vec::new(), Vec::new(), Some(format!("its schema could not be read: {e}"))),
                }
            }
            Err(e) => (Vec::new(), Vec::new(), Some(format!("its schema could not be read: {e}"))),
        };
        let rules = if withhold {
            rules.iter().map(|r| app::masking::MaskRule { method: r.method.withheld(), ..r.clone() }).collect()
        } else {
            rules
        };
        Ok(MaskingView {
            database: name.to_string(),
            version: saved.as_ref().map(|s| s.version).unwrap_or(0),
            rules,
            withheld: withhold,
            uncovered,
            suggestions,
            schema_error,
            versions: store.masking_versions(&home, VERSIONS_SHOWN).await?,
        })
    }

    /// Checks `rules` against `name`'s schema (it must be available) and
    /// saves them as its next version; answers the version.
    pub async fn set_masking(&self, name: &str, rules: MaskRules, by: Option<&str>) -> Result<i64, EngineError> {
        let spec = self.spec(name).await?;
        if let Some(of) = spec.follows() {
            return Err(EngineError::FollowerMasking { name: name.to_string(), of: of.to_string() });
        }
        let rules = normalize(rules).map_err(EngineError::Invalid)?;
        let masking = |error| EngineError::Masking { name: name.to_string(), error };
        let salt = match self.inner.store.masking_rules(name).await? {
            Some(saved) => saved.salt,
            None => super::secret(),
        };
        let mut conn = self.diagnostic_connection(name).await?;
        sql::check(&mut conn, &rules, &salt).await.map_err(masking)?;
        // Versions are numbered under the admission turn, so two saves
        // never take the same one.
        let _turn = self.admit().await?;
        Ok(self.inner.store.save_masking_rules(name, &rules, by, &salt).await?)
    }

    /// A few of each masked table's rows as the rules would leave them.
    pub async fn masking_preview(&self, name: &str) -> Result<MaskPreview, EngineError> {
        let spec = self.spec(name).await?;
        let saved = self.inner.store.masking_rules(rules_home(&spec)).await?;
        let Some(saved) = saved else { return Ok(MaskPreview { tables: Vec::new() }) };
        let mut conn = self.diagnostic_connection(name).await?;
        let tables = sql::preview(&mut conn, &saved.rules, &saved.salt)
            .await
            .map_err(|error: MaskError| EngineError::Masking { name: name.to_string(), error })?;
        Ok(MaskPreview { tables })
    }
}
