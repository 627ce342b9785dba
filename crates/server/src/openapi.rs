//! The OpenAPI 3.1 document of `/api/v1`, made from the route table so it lists exactly
//! the routes the router serves.

use crate::routes::{ROUTES, RouteSpec, Surface, Verb};
use axum::Json;
use serde_json::{Map, Value, json};

fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if name == "file" {
                json!({"type": "string"})
            } else {
                json!({"type": "integer", "format": "int64"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

fn operation_id(r: &RouteSpec) -> String {
    let mut id = r.verb.name().to_ascii_lowercase();
    for seg in r.path.trim_start_matches("/api/v1/").split('/') {
        let seg = seg.trim_start_matches('{').trim_end_matches('}');
        for part in seg.split(['-', '.', '_']) {
            let mut c = part.chars();
            if let Some(f) = c.next() {
                id.push(f.to_ascii_uppercase());
                id.extend(c);
            }
        }
    }
    id
}

fn operation(r: &RouteSpec) -> Value {
    let error = json!({"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "OK", "content": {"application/json": {"schema": {}}}}),
    );
    responses.insert("400".into(), error.clone());
    let mut op = json!({
        "operationId": operation_id(r),
        "summary": r.summary,
        "parameters": parameters(r.path),
    });
    if let Some(p) = r.needs {
        responses.insert("401".into(), error.clone());
        responses.insert("403".into(), error.clone());
        op["security"] = json!([{"bearer": []}, {"session": []}]);
        op["x-firebreak-permission"] = json!(p.name());
    } else {
        op["security"] = json!([]);
    }
    if r.case_scoped() {
        responses.insert("404".into(), error.clone());
    }
    if r.verb == Verb::Post {
        responses.insert("409".into(), error.clone());
        op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op["responses"] = Value::Object(responses);
    op
}

/// The document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for r in ROUTES.iter().filter(|r| r.surface == Surface::Api) {
        let item = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        item[r.verb.name().to_ascii_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Firebreak team server API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Cases, timelines, responses and approvals. Authenticate with `Authorization: Bearer <token>` (from `firebreak user token`) or a signed-in session cookie plus the `x-csrf-token` header on changes. Restricted cases answer 404 to people outside them.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "fb_session"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"}}}},
                },
            },
        },
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
