//! The OpenAPI document as a test oracle: which statuses a route documents,
//! so every answer a test sees can be checked against it.

use reqwest::Method;
use serde_json::Value;

use super::TestApp;

pub struct Documented {
    pub doc: Value,
}

impl Documented {
    pub async fn fetch(app: &TestApp) -> Documented {
        let doc = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        Documented { doc }
    }

    /// The route template `path` (query ignored) falls under, if any.
    pub fn template(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let want: Vec<&str> = path.split('/').collect();
        self.doc["paths"]
            .as_object()?
            .keys()
            .find(|template| {
                let have: Vec<&str> = template.split('/').collect();
                have.len() == want.len()
                    && have.iter().zip(&want).all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w)
            })
            .cloned()
    }

    /// The statuses `method` on `path` documents; `None` when the document
    /// has no such operation.
    pub fn statuses(&self, method: &Method, path: &str) -> Option<Vec<u16>> {
        let template = self.template(path)?;
        let operation = self.doc["paths"][&template][method.as_str().to_lowercase()].as_object()?;
        Some(operation["responses"].as_object()?.keys().filter_map(|s| s.parse().ok()).collect())
    }

    /// An error when `status` from `method path` is not documented.
    pub fn check(&self, method: &Method, path: &str, status: u16) -> Result<(), String> {
        match self.statuses(method, path) {
            Some(statuses) if statuses.contains(&status) => Ok(()),
            Some(statuses) => {
                Err(format!("{method} {path} answered {status}, which it does not document ({statuses:?})"))
            }
            None => Err(format!("{method} {path} answered {status} but is not in the OpenAPI document")),
        }
    }
}
