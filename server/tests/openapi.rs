//! The OpenAPI document against the API: every operation documents the
//! answers its kind of route can give, every error answer is the one error
//! shape, and (with the auth matrix and the hardening tests, which check
//! every status they see against the document) every answer seen is
//! documented.

mod common;

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_documents_its_common_answers_in_the_error_shape() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    let paths = documented.doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{} paths", paths.len());
    let mut problems = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let has = |s: &str| responses.contains_key(s);
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut want: Vec<&str> = Vec::new();
            if secured {
                want.extend(["401", "403", "503"]);
            }
            if operation.get("requestBody").is_some() {
                want.extend(["400", "413", "415", "422"]);
            }
            if path.contains('{') {
                want.push("404");
            }
            for status in want {
                if !has(status) {
                    problems.push(format!("{method} {path} does not document {status}"));
                }
            }
            if !responses.keys().any(|s| s.starts_with('2')) {
                problems.push(format!("{method} {path} documents no success"));
            }
            for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                if schema != &Value::from("#/components/schemas/ErrorBody") {
                    problems.push(format!("{method} {path} {status} is not the error shape: {response}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(documented.doc["components"]["schemas"]["ErrorBody"].is_object());
    app.shutdown().await;
}
