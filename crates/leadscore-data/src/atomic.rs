//! Writing a file so that readers see either the old contents or the new, never half of it; and
//! fingerprinting a file's bytes.
//!
//! Model files, rules files, reports and score tables all go through [`write_atomically`]: the
//! bytes go to a temporary file in the same folder, are flushed to disk, and the temporary file is
//! renamed over the target. A server watching the path, or a crash half-way, never sees a torn file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a file atomically: `write` fills a temporary file beside `path`, which is synced and
/// renamed into place. Missing parent folders are created. On error the temporary file is removed
/// and `path` is untouched.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        std::fs::create_dir_all(parent)?;
    }
    let temporary = temporary_path(path);
    let result = (|| {
        let mut file = File::create(&temporary)?;
        write(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename itself is durable only once the folder's entry is on disk.
        #[cfg(unix)]
        if let Ok(folder) = File::open(parent.unwrap_or(Path::new("."))) {
            folder.sync_all().ok();
        }
        Ok(())
    })();
    if result.is_err() {
        std::fs::remove_file(&temporary).ok();
    }
    result
}

/// Writes bytes atomically (see [`write_atomically`]).
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically(path, |file| file.write_all(bytes))
}

/// SHA-256 of a file's bytes, hex-encoded (empty when unreadable): how a model file recognises
/// the data it was trained on.
pub fn file_sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    std::fs::read(path)
        .map(|bytes| {
            Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .unwrap_or_default()
}

/// `.<name>.tmp-<pid>` beside the target: hidden, and never matched by `*.json` folder scans.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub/model.json");
        write_bytes_atomically(&path, b"first").expect("write");
        write_bytes_atomically(&path, b"second").expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("folder"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["model.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rules.toml");
        write_bytes_atomically(&path, b"old").expect("write");
        let failed = write_atomically(&path, |_| Err(std::io::Error::other("disk full")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
