//! `leadscore models …`: the registry on plain files (list, show, diff, shadow, promote,
//! rollback).

use anyhow::{Result, bail};
use leadscore_artifact::{ModelArtifact, ModelDiff, ModelLine, Pointer, Registry};
use leadscore_data::time::{format_timestamp, now};
use serde::Serialize;

use crate::args::{
    ModelNameArgs, ModelVersionArgs, ModelsDiffArgs, ModelsShadowArgs, RegistryArgs,
};
use crate::output::{print_json, table};

/// One version as listed.
#[derive(Debug, Serialize)]
struct VersionSummary {
    version: String,
    role: &'static str,
    /// The model's facts, when its file reads.
    #[serde(flatten)]
    facts: Option<VersionFacts>,
    /// Why its file cannot be read: one broken file does not hide the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// What a readable version's file says.
#[derive(Debug, Serialize)]
struct VersionFacts {
    kind: String,
    created_at: String,
    training_leads: usize,
    validation_auc: f64,
    validation_ece: f64,
    test_auc: Option<f64>,
}

/// One model as listed.
#[derive(Debug, Serialize)]
struct ModelSummary {
    name: String,
    folder: String,
    champion: Option<String>,
    challenger: Option<String>,
    versions: Vec<VersionSummary>,
}

fn role(pointer: &Pointer, version: &str) -> &'static str {
    if pointer.champion.as_deref() == Some(version) {
        "champion"
    } else if pointer.challenger.as_deref() == Some(version) {
        "challenger"
    } else {
        ""
    }
}

fn summary(line: &ModelLine) -> ModelSummary {
    let versions = line
        .versions
        .iter()
        .map(|version| {
            let facts = ModelArtifact::load(&line.file(version)).map(|model| {
                let validation = &model.validation().metrics;
                VersionFacts {
                    kind: model.model().kind().to_string(),
                    created_at: model.created_at().to_owned(),
                    training_leads: model.training_data().rows,
                    validation_auc: validation.auc,
                    validation_ece: validation.ece,
                    test_auc: model.test().map(|t| t.auc),
                }
            });
            VersionSummary {
                version: version.clone(),
                role: role(&line.pointer, version),
                problem: facts.as_ref().err().map(ToString::to_string),
                facts: facts.ok(),
            }
        })
        .collect();
    ModelSummary {
        name: line.name.clone(),
        folder: line.folder.display().to_string(),
        champion: line.pointer.champion.clone(),
        challenger: line.pointer.challenger.clone(),
        versions,
    }
}

fn print_versions(model: &ModelSummary) {
    let mut versions = table([
        "version",
        "role",
        "kind",
        "training leads",
        "validation AUC",
        "ECE",
        "test AUC",
    ]);
    for v in &model.versions {
        let mut row = vec![v.version.clone(), v.role.to_owned()];
        match &v.facts {
            Some(f) => row.extend([
                f.kind.clone(),
                f.training_leads.to_string(),
                format!("{:.4}", f.validation_auc),
                format!("{:.4}", f.validation_ece),
                f.test_auc
                    .map_or_else(|| "—".to_owned(), |a| format!("{a:.4}")),
            ]),
            None => row.push("unreadable (below)".to_owned()),
        }
        versions.add_row(row);
    }
    println!("{}  ({})", model.name, model.folder);
    println!("{versions}");
    for v in &model.versions {
        if let Some(problem) = &v.problem {
            println!("{}: {problem}", v.version);
        }
    }
}

/// Lists every model with its versions.
pub fn list(args: &RegistryArgs) -> Result<()> {
    let registry = Registry::new(&args.registry);
    let models = registry
        .names()?
        .iter()
        .map(|name| registry.line(name).map(|line| summary(&line)))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        return print_json(&models);
    }
    if models.is_empty() {
        println!(
            "no models in {} yet: `leadscore train … --registry {}` adds one",
            args.registry.display(),
            args.registry.display()
        );
    }
    for model in &models {
        print_versions(model);
    }
    Ok(())
}

/// Shows one model's versions and its pointer's log.
pub fn show(args: &ModelNameArgs) -> Result<()> {
    let line = Registry::new(&args.registry.registry).line(&args.name)?;
    let model = summary(&line);
    if args.registry.json {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            model: &'a ModelSummary,
            log: &'a [leadscore_artifact::RegistryEvent],
        }
        return print_json(&Shown {
            model: &model,
            log: &line.pointer.log,
        });
    }
    print_versions(&model);
    let mut log = table(["when", "action", "version", "previous"]);
    for event in &line.pointer.log {
        log.add_row(vec![
            event.at.clone(),
            event.action.clone(),
            event.version.clone(),
            event.previous.clone().unwrap_or_default(),
        ]);
    }
    println!("{log}");
    Ok(())
}

/// Compares two versions (by default the champion and the newest).
pub fn diff(args: &ModelsDiffArgs) -> Result<()> {
    let line = Registry::new(&args.registry.registry).line(&args.name)?;
    let old = match &args.old {
        Some(version) => version.clone(),
        None => line
            .pointer
            .champion
            .clone()
            .unwrap_or_else(|| line.versions[0].clone()),
    };
    let new = match &args.new {
        Some(version) => version.clone(),
        None => line.versions.last().cloned().unwrap_or_default(),
    };
    for version in [&old, &new] {
        if !line.versions.contains(version) {
            bail!(
                "model `{}` has no version `{version}` (versions: {})",
                line.name,
                line.versions.join(", ")
            );
        }
    }
    let diff = ModelDiff::between(
        &ModelArtifact::load(&line.file(&old))?,
        &ModelArtifact::load(&line.file(&new))?,
    );
    if args.registry.json {
        return print_json(&diff);
    }
    let mut rows = table(["", old.as_str(), new.as_str(), "change"]);
    for row in &diff.rows {
        rows.add_row(vec![
            row.what.clone(),
            row.old.clone(),
            row.new.clone(),
            row.change.map_or_else(String::new, |c| {
                if row.what.starts_with("training") {
                    format!("{c:+.0}")
                } else {
                    format!("{c:+.4}")
                }
            }),
        ]);
    }
    println!("{rows}");
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    println!("features added: {}", list(&diff.features_added));
    println!("features removed: {}", list(&diff.features_removed));
    Ok(())
}

fn print_pointer(line: &ModelLine, json: bool, what: &str) -> Result<()> {
    if json {
        return print_json(&line.pointer);
    }
    println!(
        "{what}: `{}` champion {}, challenger {}",
        line.name,
        line.pointer.champion.as_deref().unwrap_or("none"),
        line.pointer.challenger.as_deref().unwrap_or("none")
    );
    Ok(())
}

/// Makes a version the champion.
pub fn promote(args: &ModelVersionArgs) -> Result<()> {
    let line = Registry::new(&args.registry.registry).promote(
        &args.name,
        &args.model_version,
        &format_timestamp(now()),
    )?;
    print_pointer(&line, args.registry.json, "promoted")
}

/// Serves the previous champion again.
pub fn rollback(args: &ModelNameArgs) -> Result<()> {
    let line =
        Registry::new(&args.registry.registry).rollback(&args.name, &format_timestamp(now()))?;
    print_pointer(&line, args.registry.json, "rolled back")
}

/// Starts or stops scoring a challenger in shadow.
pub fn shadow(args: &ModelsShadowArgs) -> Result<()> {
    let line = Registry::new(&args.registry.registry).shadow(
        &args.name,
        args.model_version.as_deref().filter(|_| !args.off),
        &format_timestamp(now()),
    )?;
    print_pointer(&line, args.registry.json, "shadow")
}
