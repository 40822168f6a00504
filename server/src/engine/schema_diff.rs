//! Comparing two databases' schemas (`GET /api/v1/databases/{a}/diff/{b}`):
//! the engine resolves which two (a fork's source by default) and has the
//! backend connect to each; reading and comparing the catalogs is
//! [`crate::insights::schema`]'s business.

use app::schema_diff::SchemaDiff;

use super::{Engine, EngineError};
use crate::insights::schema;

impl Engine {
    /// What differs in `a`'s schema against `b`'s, or, without `b`,
    /// against the database `a` was forked from (or follows).
    pub async fn schema_diff(&self, a: &str, b: Option<&str>) -> Result<SchemaDiff, EngineError> {
        let spec = self.spec(a).await?;
        let b = match b {
            Some(b) => b.to_string(),
            None => spec.source.clone().ok_or_else(|| EngineError::NothingToCompare(a.to_string()))?,
        };
        let mut conn_a = self.diagnostic_connection(a).await?;
        let mut conn_b = self.diagnostic_connection(&b).await?;
        let insight = |name: &str| {
            let name = name.to_string();
            move |error| EngineError::Insight { name, error }
        };
        let ours = schema::read(&mut conn_a).await.map_err(insight(a))?;
        let theirs = schema::read(&mut conn_b).await.map_err(insight(&b))?;
        Ok(schema::diff(a, &b, &ours, &theirs))
    }
}
