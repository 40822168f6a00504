//! Validates an object against a CustomResourceDefinition's structural
//! schema the way a Kubernetes API server does on create, but strictly:
//! where the API server would prune an unknown field silently, this
//! reports it, so a field pgfleet misspells cannot go unnoticed.
//!
//! Covered: types (with `x-kubernetes-int-or-string`), `properties`,
//! `additionalProperties`, `x-kubernetes-preserve-unknown-fields`,
//! `required`, `enum`, `pattern`, `format: date-time`, lengths, bounds and
//! item counts, `anyOf`/`oneOf`/`allOf`, `nullable`. CEL rules
//! (`x-kubernetes-validations`) are evaluated for the ones listed in
//! [`cel`]; a rule met on a field that is present and not listed fails,
//! so nothing passes unchecked. Transition rules (`oldSelf`) only apply to
//! updates and are skipped.

#![allow(dead_code)]

use serde_json::Value;

/// The `openAPIV3Schema` of the CRD in `server/tests/cnpg/FILE`.
pub fn cnpg_schema(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cnpg").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = serde_yaml::from_str(&text).expect("a CRD in YAML");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// Every way `object` breaks `schema`, as `path: what`.
pub fn validate(object: &Value, schema: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    // metadata is the API server's (ObjectMeta), typed `object` only in
    // the CRD: check what pgfleet sets.
    if let Some(meta) = object.get("metadata") {
        for (key, value) in meta.as_object().into_iter().flatten() {
            match key.as_str() {
                "name" | "namespace" => {
                    let ok = value.as_str().is_some_and(dns_label);
                    if !ok {
                        errors.push(format!("metadata.{key}: {value} is not a DNS label"));
                    }
                }
                "labels" | "annotations" => {
                    if !value.as_object().is_some_and(|m| m.values().all(Value::is_string)) {
                        errors.push(format!("metadata.{key}: not a map of strings"));
                    }
                }
                other => errors.push(format!("metadata.{other}: not something pgfleet sets")),
            }
        }
        if meta.get("name").is_none() {
            errors.push("metadata.name: required".into());
        }
    }
    let mut root = schema.clone();
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "metadata".into(),
            serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
    }
    check(object, &root, "", &mut errors);
    errors
}

fn dns_label(s: &str) -> bool {
    let re = regex::Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").unwrap();
    s.len() <= 63 && re.is_match(s)
}

fn check(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "(root)" } else { path };
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!("{at}: null is not allowed"));
        }
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let ok = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string() || (int_or_string && value.is_i64()),
            "integer" => value.is_i64() || value.is_u64() || (int_or_string && value.is_string()),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => {
                errors.push(format!("{at}: unknown schema type {other}"));
                true
            }
        };
        if !ok {
            errors.push(format!("{at}: {value} is not of type {ty}"));
            return;
        }
    } else if int_or_string && !(value.is_string() || value.is_i64()) {
        errors.push(format!("{at}: {value} is neither an integer nor a string"));
        return;
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        if !choices.contains(value) {
            errors.push(format!("{at}: {value} is not one of {choices:?}"));
        }
    }
    if let Some(text) = value.as_str() {
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            match regex::Regex::new(pattern) {
                Ok(re) if re.is_match(text) => {}
                Ok(_) => errors.push(format!("{at}: {text:?} does not match {pattern}")),
                Err(e) => errors.push(format!("{at}: pattern {pattern} cannot be read: {e}")),
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && chrono::DateTime::parse_from_rfc3339(text).is_err()
        {
            errors.push(format!("{at}: {text:?} is not an RFC 3339 time"));
        }
        let len = text.chars().count() as u64;
        if schema.get("minLength").and_then(Value::as_u64).is_some_and(|min| len < min) {
            errors.push(format!("{at}: {text:?} is too short"));
        }
        if schema.get("maxLength").and_then(Value::as_u64).is_some_and(|max| len > max) {
            errors.push(format!("{at}: {text:?} is too long"));
        }
    }
    if let Some(n) = value.as_f64() {
        if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
            errors.push(format!("{at}: {n} is below the minimum"));
        }
        if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
            errors.push(format!("{at}: {n} is above the maximum"));
        }
    }
    for (keyword, all) in [("anyOf", false), ("oneOf", false), ("allOf", true)] {
        if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
            let passing = options
                .iter()
                .filter(|option| {
                    let mut inner = Vec::new();
                    check(value, option, path, &mut inner);
                    inner.is_empty()
                })
                .count();
            let ok = if all { passing == options.len() } else { passing >= 1 };
            if !ok {
                errors.push(format!("{at}: {value} matches no branch of {keyword}"));
            }
        }
    }
    if let Some(items) = value.as_array() {
        let n = items.len() as u64;
        if schema.get("minItems").and_then(Value::as_u64).is_some_and(|min| n < min) {
            errors.push(format!("{at}: fewer than minItems"));
        }
        if schema.get("maxItems").and_then(Value::as_u64).is_some_and(|max| n > max) {
            errors.push(format!("{at}: more than maxItems"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item, item_schema, &format!("{path}[{i}]"), errors);
            }
        }
    }
    if let Some(map) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        for (key, field) in map {
            let field_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                (Some(field_schema), _) => check(field, field_schema, &field_path, errors),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(extra)) if extra.is_object() => check(field, extra, &field_path, errors),
                (None, _) if preserve => {}
                (None, _) => errors.push(format!("{field_path}: unknown field")),
            }
        }
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(name) = required.as_str() {
                if !map.contains_key(name) {
                    errors.push(format!("{at}: {name} is required"));
                }
            }
        }
        if let Some(rules) = schema.get("x-kubernetes-validations").and_then(Value::as_array) {
            for rule in rules {
                let text = rule["rule"].as_str().unwrap_or("");
                if text.contains("oldSelf") {
                    continue;
                }
                match cel(text, value) {
                    Some(true) => {}
                    Some(false) => errors.push(format!("{at}: {}", rule["message"].as_str().unwrap_or(text))),
                    None => errors.push(format!("{at}: the rule {text:?} is not known to this validator")),
                }
            }
        }
    }
}

/// The CEL rules of CloudNativePG's schemas that apply to objects pgfleet
/// creates, evaluated; `None` for any other rule.
fn cel(rule: &str, object: &Value) -> Option<bool> {
    let has = |key: &str| object.get(key).is_some();
    let is = |key: &str, expected: &str| object.get(key).and_then(Value::as_str) == Some(expected);
    Some(match rule {
        "!(has(self.imageCatalogRef) && has(self.imageName))" => !(has("imageCatalogRef") && has("imageName")),
        "!has(self.builtinLocale) || self.localeProvider == 'builtin'" => {
            !has("builtinLocale") || is("localeProvider", "builtin")
        }
        "!has(self.icuLocale) || self.localeProvider == 'icu'" => !has("icuLocale") || is("localeProvider", "icu"),
        "!has(self.icuRules) || self.localeProvider == 'icu'" => !has("icuRules") || is("localeProvider", "icu"),
        "self.kind == 'ImageCatalog' || self.kind == 'ClusterImageCatalog'" => {
            is("kind", "ImageCatalog") || is("kind", "ClusterImageCatalog")
        }
        "self.apiGroup == 'postgresql.cnpg.io'" => is("apiGroup", "postgresql.cnpg.io"),
        _ => return None,
    })
}
