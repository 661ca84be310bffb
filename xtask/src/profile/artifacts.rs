//! The artifact files: contents collected during the run and written at the end with the final
//! provenance (the libraries and their hashes are known by then), a stand-in saying why for each
//! expected file that could not be produced, and the atomic swap of the folder.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use raptors_bench::provenance::{Content, Provenance};

#[derive(Default)]
pub struct Artifacts {
    files: BTreeMap<String, Content>,
    /// Expected files that could not be produced, with the reason.
    missing: BTreeMap<String, String>,
}

impl Artifacts {
    pub fn put(&mut self, name: &str, c: Content) {
        self.missing.remove(name);
        self.files.insert(name.to_string(), c);
    }

    /// Files that must exist at the end: each one not produced by then gets a stand-in with `reason`.
    pub fn expect(&mut self, names: &[&str], reason: &str) {
        for n in names.iter().filter(|n| !self.files.contains_key(**n)) {
            self.missing
                .entry(n.to_string())
                .or_insert_with(|| reason.to_string());
        }
    }

    pub fn write(&self, dir: &Path, prov: &Provenance) -> Result<()> {
        for (name, content) in &self.files {
            prov.write(&dir.join(name), content)?;
        }
        for (name, reason) in &self.missing {
            prov.write_missing(&dir.join(name), reason)?;
        }
        Ok(())
    }
}

/// (name, bytes) of every file in `dir` (hidden ones excluded), sorted.
pub fn list(dir: &Path) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && e.file_type()?.is_file() {
            out.push((name, e.metadata()?.len()));
        }
    }
    out.sort();
    Ok(out)
}

fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map_or("profiles".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!("{name}.{suffix}-{}", std::process::id()))
}

/// Runs `build` in a fresh temp folder next to `dest`; if it returns `Ok`, the temp folder
/// replaces `dest` (old folder renamed away, new one renamed in, old one deleted; the old one is
/// put back if the second rename fails). If `build` fails or panics, `dest` is left as it was.
pub fn publish_atomically<R>(dest: &Path, build: impl FnOnce(&Path) -> Result<R>) -> Result<R> {
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty());
    let parent = parent.ok_or_else(|| anyhow!("{} has no parent folder", dest.display()))?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let (tmp, old) = (sibling(dest, "tmp"), sibling(dest, "old"));
    for stale in [&tmp, &old] {
        if stale.exists() {
            fs::remove_dir_all(stale)
                .with_context(|| format!("removing stale {}", stale.display()))?;
        }
    }
    fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let value = match panic::catch_unwind(AssertUnwindSafe(|| build(&tmp))) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(err.context(format!(
                "nothing published; {} left unchanged",
                dest.display()
            )));
        }
        Err(payload) => {
            let _ = fs::remove_dir_all(&tmp);
            let why = crate::steps::panic_message(payload.as_ref());
            bail!(
                "the profile panicked ({why}); nothing published, {} left unchanged",
                dest.display()
            );
        }
    };
    let had_old = dest.exists();
    if had_old {
        fs::rename(dest, &old).with_context(|| format!("moving {} away", dest.display()))?;
    }
    if let Err(err) = fs::rename(&tmp, dest) {
        if had_old {
            let _ = fs::rename(&old, dest);
        }
        return Err(err).with_context(|| format!("moving {} to {}", tmp.display(), dest.display()));
    }
    if had_old {
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(value)
}
