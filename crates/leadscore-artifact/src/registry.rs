//! The model registry: every version of a model kept as plain files, and a pointer naming the
//! one in service.
//!
//! Layout: `<root>/<name>/<version>.json` (model files, never rewritten) and
//! `<root>/<name>/registry.json` (the [`Pointer`]: champion, shadow challenger, the line of
//! champions for rollback, and a log of every change). The server serves the champion of a
//! folder that has a pointer and notices when the pointer changes; the pointer is written
//! atomically, so a server never reads half of it.

use std::path::{Path, PathBuf};

use leadscore_data::write_bytes_atomically;
use serde::{Deserialize, Serialize};

use crate::{ArtifactError, ModelArtifact};

/// File name of a model's pointer inside its folder.
pub const POINTER_FILE: &str = "registry.json";

const POINTER_FORMAT: &str = "leadscore-registry";

/// What a pointer file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pointer {
    /// Always `leadscore-registry`.
    pub format: String,
    /// The version in service.
    pub champion: Option<String>,
    /// A version scored beside the champion, recorded but not answered.
    pub challenger: Option<String>,
    /// Every champion so far, oldest first; the last is the champion. Rollback steps back one.
    pub lineage: Vec<String>,
    /// Every change, oldest first.
    pub log: Vec<RegistryEvent>,
}

/// One change of a pointer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryEvent {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// `register`, `promote`, `rollback`, `shadow` or `unshadow`.
    pub action: String,
    /// The version acted on.
    pub version: String,
    /// The champion before, for promote and rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

impl Default for Pointer {
    fn default() -> Self {
        Self {
            format: POINTER_FORMAT.to_owned(),
            champion: None,
            challenger: None,
            lineage: Vec::new(),
            log: Vec::new(),
        }
    }
}

/// A folder of models, one subfolder per model name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    root: PathBuf,
}

/// A model's versions and pointer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelLine {
    /// The model's name.
    pub name: String,
    /// Its folder.
    pub folder: PathBuf,
    /// Its pointer (empty when none was written yet).
    pub pointer: Pointer,
    /// Versions on disk, oldest first (versions are timestamps, so names sort by age).
    pub versions: Vec<String>,
}

impl ModelLine {
    /// The file of a version.
    pub fn file(&self, version: &str) -> PathBuf {
        self.folder.join(format!("{version}.json"))
    }

    /// The champion's file, if there is a champion.
    pub fn champion_file(&self) -> Option<PathBuf> {
        self.pointer.champion.as_deref().map(|v| self.file(v))
    }

    /// The challenger's file, if one is in shadow.
    pub fn challenger_file(&self) -> Option<PathBuf> {
        self.pointer.challenger.as_deref().map(|v| self.file(v))
    }

    fn require(&self, version: &str) -> Result<(), ArtifactError> {
        if self.versions.iter().any(|v| v == version) {
            return Ok(());
        }
        Err(ArtifactError::UnknownVersion {
            name: self.name.clone(),
            version: version.to_owned(),
            known: self.versions.clone(),
        })
    }
}

/// Where [`Registry::register`] put a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// The model file written.
    pub file: PathBuf,
    /// Whether it became the champion (the first version of a name does).
    pub champion: bool,
}

impl Registry {
    /// The registry under `root` (created on the first registration).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The registry's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Model names, sorted: every subfolder holding a pointer or a model file.
    pub fn names(&self) -> Result<Vec<String>, ArtifactError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(self.read_error(&self.root, source)),
        };
        let mut names = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() && !versions_in(&path)?.is_empty() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// A model's versions and pointer.
    pub fn line(&self, name: &str) -> Result<ModelLine, ArtifactError> {
        check_name("model name", name)?;
        let folder = self.root.join(name);
        let versions = versions_in(&folder)?;
        if versions.is_empty() {
            return Err(ArtifactError::UnknownModel {
                root: self.root.clone(),
                name: name.to_owned(),
                known: self.names()?,
            });
        }
        let pointer = read_pointer(&folder)?.unwrap_or_default();
        Ok(ModelLine {
            name: name.to_owned(),
            folder,
            pointer,
            versions,
        })
    }

    /// Saves `model` as `<root>/<name>/<version>.json`. The first version of a name becomes
    /// its champion; later ones wait for [`Registry::promote`].
    pub fn register(&self, model: &ModelArtifact, at: &str) -> Result<Registered, ArtifactError> {
        check_name("model name", model.name())?;
        check_name("model version", model.version())?;
        let folder = self.root.join(model.name());
        let file = folder.join(format!("{}.json", model.version()));
        if file.exists() {
            return Err(ArtifactError::VersionExists { path: file });
        }
        std::fs::create_dir_all(&folder).map_err(|source| ArtifactError::Write {
            path: folder.clone(),
            source,
        })?;
        model.save(&file)?;
        let mut pointer = read_pointer(&folder)?.unwrap_or_default();
        let champion = pointer.champion.is_none();
        pointer.log.push(RegistryEvent {
            at: at.to_owned(),
            action: "register".to_owned(),
            version: model.version().to_owned(),
            previous: None,
        });
        if champion {
            pointer.champion = Some(model.version().to_owned());
            pointer.lineage.push(model.version().to_owned());
        }
        write_pointer(&folder, &pointer)?;
        Ok(Registered { file, champion })
    }

    /// Makes `version` the champion. The model file is loaded and checked first: a file that
    /// would not serve is never promoted.
    pub fn promote(&self, name: &str, version: &str, at: &str) -> Result<ModelLine, ArtifactError> {
        let mut line = self.line(name)?;
        line.require(version)?;
        ModelArtifact::load(&line.file(version))?;
        let previous = line.pointer.champion.replace(version.to_owned());
        if line.pointer.challenger.as_deref() == Some(version) {
            line.pointer.challenger = None;
        }
        line.pointer.lineage.push(version.to_owned());
        line.pointer.log.push(RegistryEvent {
            at: at.to_owned(),
            action: "promote".to_owned(),
            version: version.to_owned(),
            previous,
        });
        write_pointer(&line.folder, &line.pointer)?;
        Ok(line)
    }

    /// Gives service back to the champion before the current one.
    pub fn rollback(&self, name: &str, at: &str) -> Result<ModelLine, ArtifactError> {
        let mut line = self.line(name)?;
        let lineage = &mut line.pointer.lineage;
        if lineage.len() < 2 {
            return Err(ArtifactError::NothingToRollBack {
                name: name.to_owned(),
                champion: line.pointer.champion.clone(),
            });
        }
        let current = lineage.pop();
        let restored = lineage.last().cloned().unwrap_or_default();
        line.require(&restored)?;
        ModelArtifact::load(&line.file(&restored))?;
        line.pointer.champion = Some(restored.clone());
        line.pointer.log.push(RegistryEvent {
            at: at.to_owned(),
            action: "rollback".to_owned(),
            version: restored,
            previous: current,
        });
        write_pointer(&line.folder, &line.pointer)?;
        Ok(line)
    }

    /// Scores `version` in shadow beside the champion (`None` stops the shadow).
    pub fn shadow(
        &self,
        name: &str,
        version: Option<&str>,
        at: &str,
    ) -> Result<ModelLine, ArtifactError> {
        let mut line = self.line(name)?;
        let event = match version {
            Some(version) => {
                line.require(version)?;
                ModelArtifact::load(&line.file(version))?;
                line.pointer.challenger = Some(version.to_owned());
                ("shadow", version.to_owned())
            }
            None => {
                let Some(stopped) = line.pointer.challenger.take() else {
                    return Ok(line);
                };
                ("unshadow", stopped)
            }
        };
        line.pointer.log.push(RegistryEvent {
            at: at.to_owned(),
            action: event.0.to_owned(),
            version: event.1,
            previous: None,
        });
        write_pointer(&line.folder, &line.pointer)?;
        Ok(line)
    }

    fn read_error(&self, path: &Path, source: std::io::Error) -> ArtifactError {
        ArtifactError::Read {
            path: path.to_owned(),
            source,
        }
    }
}

/// The champion and challenger files of a model folder with a pointer; `None` for a folder
/// without one (the server then serves its newest model file).
pub fn served_files(folder: &Path) -> Result<Option<(PathBuf, Option<PathBuf>)>, ArtifactError> {
    let Some(pointer) = read_pointer(folder)? else {
        return Ok(None);
    };
    let file = |version: &str| folder.join(format!("{version}.json"));
    let champion =
        pointer
            .champion
            .as_deref()
            .map(file)
            .ok_or_else(|| ArtifactError::NoChampion {
                path: folder.join(POINTER_FILE),
            })?;
    Ok(Some((champion, pointer.challenger.as_deref().map(file))))
}

/// Names and versions become file names: no separators, no leading dot, no control characters.
fn check_name(what: &'static str, name: &str) -> Result<(), ArtifactError> {
    let bad = name.is_empty()
        || name.len() > 100
        || name.starts_with('.')
        || name == POINTER_FILE.trim_end_matches(".json")
        || name.chars().any(|c| {
            c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        });
    if bad {
        return Err(ArtifactError::BadRegistryName {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn versions_in(folder: &Path) -> Result<Vec<String>, ArtifactError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ArtifactError::Read {
                path: folder.to_owned(),
                source,
            });
        }
    };
    let mut versions: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name.strip_suffix(".json")?;
            (name != POINTER_FILE && !name.starts_with('.')).then(|| version.to_owned())
        })
        .collect();
    versions.sort();
    Ok(versions)
}

fn read_pointer(folder: &Path) -> Result<Option<Pointer>, ArtifactError> {
    let path = folder.join(POINTER_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ArtifactError::Read { path, source }),
    };
    let pointer: Pointer = serde_json::from_slice(&bytes).map_err(|e| ArtifactError::Contents {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if pointer.format != POINTER_FORMAT {
        return Err(ArtifactError::Contents {
            path,
            line: 1,
            column: 1,
            message: format!(
                "format is \"{}\", expected \"{POINTER_FORMAT}\"",
                pointer.format
            ),
        });
    }
    Ok(Some(pointer))
}

fn write_pointer(folder: &Path, pointer: &Pointer) -> Result<(), ArtifactError> {
    let path = folder.join(POINTER_FILE);
    let write_error = |source| ArtifactError::Write {
        path: path.clone(),
        source,
    };
    let json = serde_json::to_vec_pretty(pointer).map_err(|e| write_error(e.into()))?;
    write_bytes_atomically(&path, &json).map_err(write_error)
}
