//! The Models page: the serving model, the files beside it, and the reload form.

use std::fmt::Write as _;

use leadscore_compare::chart::escape;

use super::layout::{Auth, notice, thousands};
use crate::state::Engine;

/// A model file in the served folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelFile {
    pub name: String,
    pub bytes: u64,
    pub modified: Option<String>,
    pub serving: bool,
}

/// The Models page; `message` is the result of a reload just attempted.
pub(crate) fn models(
    engine: &Engine,
    files: &[ModelFile],
    auth: &Auth,
    message: Option<Result<&str, &str>>,
) -> String {
    let mut out = message.map(notice).unwrap_or_default();
    match engine.scorer.model() {
        Some(model) => {
            let _ = write!(
                out,
                r#"<p id="serving">Serving <strong data-field="name">{}</strong> version <span data-field="version">{}</span> ({}, trained {}) from <code>{}</code>.</p>"#,
                escape(model.name()),
                escape(model.version()),
                escape(&model.model().kind().to_string()),
                escape(model.created_at()),
                escape(
                    &engine
                        .model_file
                        .as_deref()
                        .and_then(|p| p.file_name())
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                )
            );
        }
        None => {
            out.push_str("<p id=\"serving\">No predictive model is served (points rules only).</p>")
        }
    }
    if !files.is_empty() {
        out.push_str(r#"<div class="scroll"><table id="model-files"><caption>Model files in the served folder, newest first</caption><thead><tr><th scope="col">file</th><th scope="col">written</th><th scope="col">size</th><th scope="col"></th></tr></thead><tbody>"#);
        for file in files {
            let _ = write!(
                out,
                r#"<tr{}><th scope="row">{}</th><td>{}</td><td class="num">{} KiB</td><td>{}</td></tr>"#,
                if file.serving {
                    r#" class="serving""#
                } else {
                    ""
                },
                escape(&file.name),
                escape(file.modified.as_deref().unwrap_or("–")),
                thousands(file.bytes.div_ceil(1024)),
                if file.serving { "serving" } else { "" }
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str(r#"<p class="hint">The server also reloads by itself when the model or rules file changes; with a registry folder as <code>--model</code> it serves the champion (<code>leadscore models promote</code>), with another folder the newest file. A file that does not load is refused and the current model keeps serving.</p>"#);
    match (&auth.csrf, auth.keys) {
        (Some(csrf), _) => {
            let _ = write!(
                out,
                r#"<form method="post" action="/models" id="reload-form"><input type="hidden" name="csrf" value="{}"><button type="submit">Reload the model and rules now</button></form>"#,
                escape(csrf)
            );
        }
        (None, true) => out.push_str(
            r#"<p><a href="/login?next=/models">Sign in with an API key</a> to reload.</p>"#,
        ),
        (None, false) => out.push_str(
            "<p>Reloading from here needs an API key: start the server with <code>--api-key</code>.</p>",
        ),
    }
    out
}
