//! Atomic replacement of the artifact folder: everything is written into a sibling temp folder
//! (`<dest>.tmp-<pid>`), which is swapped in only when the build finished. A crash, panic or
//! fatal error before the swap leaves the previous folder untouched.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// The temp folder used for `dest` by this process.
pub fn temp_dir_for(dest: &Path) -> PathBuf {
    sibling(dest, &format!("tmp-{}", std::process::id()))
}

fn sibling(dest: &Path, suffix: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "profiles".to_string());
    dest.with_file_name(format!("{name}.{suffix}"))
}

/// Runs `build` with a fresh temp folder next to `dest`; if it returns `Ok`, the temp folder
/// replaces `dest` (old folder renamed away, new one renamed in, old one deleted). If `build`
/// fails or panics, `dest` is left exactly as it was and the temp folder is removed.
pub fn publish_atomically<R>(dest: &Path, build: impl FnOnce(&Path) -> Result<R>) -> Result<R> {
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| anyhow!("{} has no parent folder", dest.display()))?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = temp_dir_for(dest);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("removing stale {}", tmp.display()))?;
    }
    fs::create_dir(&tmp).with_context(|| format!("creating {}", tmp.display()))?;

    let outcome = panic::catch_unwind(AssertUnwindSafe(|| build(&tmp)));
    let value = match outcome {
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
            bail!(
                "the profile panicked ({}); nothing published, {} left unchanged",
                panic_message(payload.as_ref()),
                dest.display()
            );
        }
    };
    swap_in(&tmp, dest)?;
    Ok(value)
}

/// Replaces `dest` with `new`: rename the old folder away, rename the new one in, delete the old.
/// If the second rename fails, the old folder is put back.
pub fn swap_in(new: &Path, dest: &Path) -> Result<()> {
    let old = sibling(dest, &format!("old-{}", std::process::id()));
    let had_old = dest.exists();
    if had_old {
        if old.exists() {
            fs::remove_dir_all(&old)
                .with_context(|| format!("removing stale {}", old.display()))?;
        }
        fs::rename(dest, &old)
            .with_context(|| format!("moving {} to {}", dest.display(), old.display()))?;
    }
    if let Err(err) = fs::rename(new, dest) {
        if had_old {
            let _ = fs::rename(&old, dest);
        }
        return Err(err).with_context(|| format!("moving {} to {}", new.display(), dest.display()));
    }
    if had_old {
        fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    }
    Ok(())
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-publish-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn old_folder(base: &Path) -> PathBuf {
        let dest = base.join("profiles");
        fs::create_dir_all(&dest).unwrap();
        fs::write(dest.join("README.md"), "old report").unwrap();
        dest
    }

    #[test]
    fn success_replaces_the_folder_and_cleans_up() {
        let base = scratch("ok");
        let dest = old_folder(&base);
        publish_atomically(&dest, |tmp| {
            fs::write(tmp.join("README.md"), "new report")?;
            Ok(())
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(dest.join("README.md")).unwrap(),
            "new report"
        );
        let leftovers: Vec<_> = fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("profiles")]);
        fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn error_before_swap_keeps_the_old_folder() {
        let base = scratch("err");
        let dest = old_folder(&base);
        let err = publish_atomically(&dest, |tmp| -> Result<()> {
            fs::write(tmp.join("README.md"), "half-written")?;
            bail!("step exploded")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("step exploded"));
        assert_eq!(
            fs::read_to_string(dest.join("README.md")).unwrap(),
            "old report"
        );
        assert!(!temp_dir_for(&dest).exists(), "temp folder removed");
        fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn panic_before_swap_keeps_the_old_folder() {
        let base = scratch("panic");
        let dest = old_folder(&base);
        let err = publish_atomically(&dest, |tmp| -> Result<()> {
            fs::write(tmp.join("README.md"), "half-written").unwrap();
            panic!("boom in a step");
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("boom in a step"));
        assert_eq!(
            fs::read_to_string(dest.join("README.md")).unwrap(),
            "old report"
        );
        assert!(!temp_dir_for(&dest).exists());
        fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn first_run_without_an_old_folder() {
        let base = scratch("first");
        let dest = base.join("profiles");
        publish_atomically(&dest, |tmp| {
            fs::write(tmp.join("a.txt"), "x")?;
            Ok(())
        })
        .unwrap();
        assert!(dest.join("a.txt").is_file());
        fs::remove_dir_all(base).unwrap();
    }
}
