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

impl Documented {
    /// An error naming the first place where `value` is not what schema
    /// `name` (under `components.schemas`) describes: a missing required
    /// field, a field the schema does not have, a wrong type or an enum
    /// value it does not list.
    pub fn conforms(&self, name: &str, value: &Value) -> Result<(), String> {
        self.check_schema(&serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }), value, name)
    }

    fn check_schema(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        self.check_value(schema, value, at, false)
    }

    /// Every property name `schema` (through references and compositions)
    /// describes.
    fn known_keys(&self, schema: &Value, into: &mut std::collections::HashSet<String>) {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            return self.known_keys(&self.doc["components"]["schemas"][name], into);
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            for part in schema[key].as_array().into_iter().flatten() {
                self.known_keys(part, into);
            }
        }
        into.extend(schema["properties"].as_object().into_iter().flatten().map(|(k, _)| k.clone()));
    }

    /// `open`: keys the schema does not name are another part's (of an
    /// `allOf`), checked there.
    fn check_value(&self, schema: &Value, value: &Value, at: &str, open: bool) -> Result<(), String> {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            let target = &self.doc["components"]["schemas"][name];
            if target.is_null() {
                return Err(format!("{at}: {reference} is not in the document"));
            }
            return self.check_value(target, value, at, open);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = schema[key].as_array() {
                let errors: Vec<String> =
                    choices.iter().filter_map(|c| self.check_value(c, value, at, open).err()).collect();
                return if errors.len() < choices.len() { Ok(()) } else { Err(errors.join("; ")) };
            }
        }
        if let Some(all) = schema["allOf"].as_array() {
            for part in all {
                self.check_value(part, value, at, true)?;
            }
            if let (Value::Object(fields), false) = (value, open) {
                let mut known = std::collections::HashSet::new();
                self.known_keys(schema, &mut known);
                if let Some(key) = fields.keys().find(|k| !known.contains(*k)) {
                    return Err(format!("{at}: {key} is not in the document"));
                }
            }
            return Ok(());
        }
        if let Some(options) = schema["enum"].as_array() {
            if !options.contains(value) {
                return Err(format!("{at}: {value} is not one of {options:?}"));
            }
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let fits = types.is_empty() || types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
        if !fits {
            return Err(format!("{at}: a {kind} ({value}) where the document says {types:?}"));
        }
        match value {
            Value::Object(fields) => {
                let properties = schema["properties"].as_object();
                for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if !fields.contains_key(required) {
                        return Err(format!("{at}: {required} is required but missing"));
                    }
                }
                if let Some(properties) = properties {
                    for (key, field) in fields {
                        let Some(schema) = properties.get(key) else {
                            if open {
                                continue;
                            }
                            return Err(format!("{at}: {key} is not in the document"));
                        };
                        self.check_schema(schema, field, &format!("{at}.{key}"))?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_schema(&schema["items"], item, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
