//! What changed between two model files: metrics, model, data, tiers and features, as rows a
//! table or JSON can show side by side.

use serde::Serialize;

use crate::ModelArtifact;

/// One compared property.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffRow {
    /// What is compared.
    pub what: String,
    /// Its value in the first (older) model.
    pub old: String,
    /// Its value in the second (newer) model.
    pub new: String,
    /// New minus old, for numbers.
    pub change: Option<f64>,
}

/// Two models side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelDiff {
    /// The first model's version.
    pub old_version: String,
    /// The second model's version.
    pub new_version: String,
    /// Properties, metrics first.
    pub rows: Vec<DiffRow>,
    /// Features only the new model has.
    pub features_added: Vec<String>,
    /// Features only the old model has.
    pub features_removed: Vec<String>,
}

impl ModelDiff {
    /// Compares `old` with `new`.
    pub fn between(old: &ModelArtifact, new: &ModelArtifact) -> Self {
        let mut rows = Vec::new();
        let mut number = |what: &str, old: Option<f64>, new: Option<f64>| {
            let count = what.starts_with("training");
            let show = |v: Option<f64>| {
                v.map_or_else(
                    || "—".to_owned(),
                    |v| {
                        if count {
                            format!("{v:.0}")
                        } else {
                            format!("{v:.4}")
                        }
                    },
                )
            };
            rows.push(DiffRow {
                what: what.to_owned(),
                old: show(old),
                new: show(new),
                change: old.zip(new).map(|(o, n)| n - o),
            });
        };
        let (ov, nv) = (&old.validation().metrics, &new.validation().metrics);
        number("validation AUC", Some(ov.auc), Some(nv.auc));
        number("validation PR AUC", Some(ov.pr_auc), Some(nv.pr_auc));
        number("validation log loss", Some(ov.log_loss), Some(nv.log_loss));
        number("validation ECE", Some(ov.ece), Some(nv.ece));
        number(
            "test AUC",
            old.test().map(|t| t.auc),
            new.test().map(|t| t.auc),
        );
        number(
            "training leads",
            Some(old.training_data().rows as f64),
            Some(new.training_data().rows as f64),
        );
        number(
            "training wins",
            Some(old.training_data().won as f64),
            Some(new.training_data().won as f64),
        );
        for (o, n) in old.tiers().iter().zip(new.tiers()) {
            if o.name == n.name {
                number(
                    &format!("tier {} floor", o.name),
                    Some(o.min_probability),
                    Some(n.min_probability),
                );
            }
        }
        let mut text = |what: &str, old: String, new: String| {
            rows.push(DiffRow {
                what: what.to_owned(),
                old,
                new,
                change: None,
            });
        };
        let chosen = |m: &ModelArtifact| {
            m.leaderboard().iter().find(|c| c.chosen).map_or_else(
                || m.model().kind().to_string(),
                |c| format!("{} {}", c.kind, c.params),
            )
        };
        text("model", chosen(old), chosen(new));
        text(
            "validation",
            old.validation().scheme.clone(),
            new.validation().scheme.clone(),
        );
        text(
            "leads file",
            old.training_data().leads_file.clone(),
            new.training_data().leads_file.clone(),
        );
        text(
            "leads SHA-256",
            short(&old.training_data().leads_sha256),
            short(&new.training_data().leads_sha256),
        );
        text(
            "created",
            old.created_at().to_owned(),
            new.created_at().to_owned(),
        );
        text(
            "leadscore",
            old.leadscore_version().to_owned(),
            new.leadscore_version().to_owned(),
        );
        let names = |m: &ModelArtifact| -> Vec<String> {
            m.feature_info().iter().map(|f| f.name.clone()).collect()
        };
        let (old_names, new_names) = (names(old), names(new));
        Self {
            old_version: old.version().to_owned(),
            new_version: new.version().to_owned(),
            rows,
            features_added: new_names
                .iter()
                .filter(|f| !old_names.contains(f))
                .cloned()
                .collect(),
            features_removed: old_names
                .iter()
                .filter(|f| !new_names.contains(f))
                .cloned()
                .collect(),
        }
    }
}

fn short(digest: &str) -> String {
    digest.chars().take(12).collect()
}
