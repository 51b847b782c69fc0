//! `/docs`: the API reference as one self-contained HTML page (no scripts, no external assets),
//! rendered from the same OpenAPI document `/openapi.json` serves, so the two cannot disagree.

use std::fmt::Write;

use serde_json::{Map, Value};

/// The reference page of an OpenAPI document.
pub fn render(document: &Value) -> String {
    let title = text(&document["info"]["title"]);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style>\
         </head><body><h1>{} API <small>{}</small></h1><p>{}</p>\
         <p>The machine-readable contract: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {}).</p>",
        escape(&title),
        escape(&title),
        escape(&text(&document["info"]["version"])),
        escape(&text(&document["info"]["description"])),
        escape(&text(&document["openapi"])),
    );
    let empty = Map::new();
    let schemas = document["components"]["schemas"]
        .as_object()
        .unwrap_or(&empty);
    page.push_str("<nav><ul>");
    let paths = document["paths"].as_object().unwrap_or(&empty);
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap_or(&empty) {
            let _ = write!(
                page,
                "<li><a href=\"#{}\"><code>{} {}</code></a> {}</li>",
                escape(&text(&operation["operationId"])),
                method.to_uppercase(),
                escape(path),
                escape(&text(&operation["summary"]))
            );
        }
    }
    page.push_str("</ul></nav>");
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap_or(&empty) {
            operation_section(&mut page, path, method, operation);
        }
    }
    page.push_str("<h2>Schemas</h2>");
    for (name, schema) in schemas {
        let _ = write!(
            page,
            "<section id=\"schema-{0}\"><h3>{0}</h3><p>{1}</p>",
            escape(name),
            escape(&text(&schema["description"]))
        );
        properties_table(&mut page, schema);
        page.push_str("</section>");
    }
    page.push_str("</body></html>");
    page
}

fn operation_section(page: &mut String, path: &str, method: &str, operation: &Value) {
    let needs_key = operation["security"].as_array().is_some_and(|options| {
        !options
            .iter()
            .any(|o| o.as_object().is_some_and(Map::is_empty))
    });
    let _ = write!(
        page,
        "<section id=\"{}\"><h2><span class=\"method\">{}</span> <code>{}</code></h2><p>{}</p>",
        escape(&text(&operation["operationId"])),
        method.to_uppercase(),
        escape(path),
        escape(&text(&operation["summary"]))
    );
    if needs_key {
        page.push_str("<p class=\"key\">Needs <code>Authorization: Bearer &lt;key&gt;</code>.</p>");
    }
    if let Some(parameters) = operation["parameters"].as_array() {
        page.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>description</th></tr>");
        for parameter in parameters {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(&parameter["name"])),
                escape(&text(&parameter["in"])),
                yes_no(parameter["required"].as_bool().unwrap_or(false)),
                escape(&text(&parameter["description"]))
            );
        }
        page.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        for (media, body) in content {
            let _ = write!(
                page,
                "<h4>Body <small>{}</small></h4><p>{}</p>",
                escape(media),
                schema_link(&body["schema"])
            );
        }
    }
    page.push_str(
        "<h4>Answers</h4><table><tr><th>status</th><th>description</th><th>body</th></tr>",
    );
    for (status, answer) in operation["responses"].as_object().into_iter().flatten() {
        let body = answer["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media, content)| {
                format!(
                    "{} <small>{}</small>",
                    schema_link(&content["schema"]),
                    escape(media)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(status),
            escape(&text(&answer["description"])),
            body
        );
    }
    page.push_str("</table></section>");
}

fn properties_table(page: &mut String, schema: &Value) {
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    page.push_str(
        "<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>",
    );
    for (name, property) in properties {
        let _ = write!(
            page,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            type_of(property),
            yes_no(required.contains(&name.as_str())),
            escape(&text(&property["description"]))
        );
    }
    page.push_str("</table>");
}

/// A schema's type in a few words, with links to named schemas.
fn type_of(schema: &Value) -> String {
    if schema.get("$ref").is_some() {
        return schema_link(schema);
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        return choices.iter().map(type_of).collect::<Vec<_>>().join(" or ");
    }
    match &schema["type"] {
        Value::String(kind) if kind == "array" => format!("array of {}", type_of(&schema["items"])),
        Value::String(kind) => escape(kind),
        Value::Array(kinds) => escape(&kinds.iter().map(text).collect::<Vec<_>>().join(" or ")),
        _ => "any".to_owned(),
    }
}

/// A link to a named schema, the type of an inline one, nothing for none.
fn schema_link(schema: &Value) -> String {
    match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        Some(name) => format!("<a href=\"#schema-{0}\">{0}</a>", escape(name)),
        None if schema.is_null() => String::new(),
        None => type_of(schema),
    }
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "yes" } else { "" }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}\
h1 small{color:#777;font-weight:normal;font-size:.6em}h2{border-top:1px solid #ddd;padding-top:1rem;margin-top:2rem}\
.method{background:#1f77b4;color:#fff;border-radius:4px;padding:.1em .45em;font-size:.8em}\
.key{color:#a15c00}table{border-collapse:collapse;width:100%;margin:.5rem 0}\
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f5}\
code{background:#f3f3f3;padding:0 .2em;border-radius:3px}nav ul{columns:2}";
