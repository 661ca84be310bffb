//! Git revisions for `--against`: the one a user names (it must exist and hold the workspace)
//! and the checkout being profiled.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// One revision of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// As the user named it (`HEAD~3`, a tag, a hash); `HEAD` (or `HEAD with uncommitted
    /// changes`) for the checkout being profiled.
    pub rev: String,
    pub commit: String,
    /// The commit's subject line.
    pub subject: String,
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()?;
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        false => bail!("{}", String::from_utf8_lossy(&out.stderr).trim()),
    }
}

/// A revision with the path of its `raptors-py` member (what maturin builds).
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub revision: Revision,
    pub raptors_py: String,
}

impl Revision {
    /// `rev` in `repo`, or a plain error: it does not exist, or it predates the workspace (its
    /// top-level Cargo.toml has no `raptors-kernels` and `raptors-py` members).
    pub fn resolve(repo: &Path, rev: &str) -> Result<Resolved> {
        let spec = format!("{rev}^{{commit}}");
        let commit = git(repo, &["rev-parse", "--verify", "--quiet", &spec])
            .ok()
            .filter(|c| !c.is_empty())
            .with_context(|| format!("--against {rev}: no such revision in {}", repo.display()))?;
        let manifest = git(repo, &["show", &format!("{commit}:Cargo.toml")]).unwrap_or_default();
        let py = workspace_member(&manifest, "raptors-py");
        let (Some(raptors_py), Some(_)) = (py, workspace_member(&manifest, "raptors-kernels"))
        else {
            bail!(
                "--against {rev}: {commit} predates the workspace (its top-level Cargo.toml has \
                 no raptors-kernels and raptors-py members)"
            );
        };
        let subject = git(repo, &["log", "-1", "--format=%s", &commit])?;
        let revision = Revision {
            rev: rev.into(),
            commit,
            subject,
        };
        Ok(Resolved {
            revision,
            raptors_py,
        })
    }

    /// The checkout of the current directory (commit, subject, uncommitted changes outside
    /// `benchmarks/` as `runner::git_info` sees them).
    pub fn current() -> Revision {
        let g = crate::runner::git_info();
        let subject = git(Path::new("."), &["log", "-1", "--format=%s"]).unwrap_or_default();
        let rev = if g.dirty {
            "HEAD with uncommitted changes"
        } else {
            "HEAD"
        };
        Revision {
            rev: rev.into(),
            commit: g.commit,
            subject,
        }
    }
}

/// The path of the workspace member named `name` in a top-level Cargo.toml's `members` list.
pub fn workspace_member(manifest: &str, name: &str) -> Option<String> {
    let (_, after) = manifest.split_once("[workspace]")?;
    let (_, list) = after.split_once("members")?;
    let list = &list[list.find('[')? + 1..list.find(']')?];
    list.split(',')
        .map(|m| m.trim().trim_matches('"'))
        .find(|m| Path::new(m).file_name().is_some_and(|f| f == name))
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp git repository with one commit per (message, Cargo.toml) in order.
    fn repo(commits: &[(&str, Option<&str>)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        let run = |args: &[&str]| git(&dir.0, args).unwrap();
        run(&["init", "-q"]);
        for (message, manifest) in commits {
            match manifest {
                Some(m) => std::fs::write(dir.0.join("Cargo.toml"), m).unwrap(),
                None => std::fs::write(dir.0.join("README"), message).unwrap(),
            }
            run(&["add", "-A"]);
            let who = ["-c", "user.name=t", "-c", "user.email=t@t"];
            git(
                &dir.0,
                &[&who[..], &["commit", "-q", "-m", message]].concat(),
            )
            .unwrap();
        }
        dir
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let p = std::env::temp_dir()
                    .join(format!("raptors-revision-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const WORKSPACE: &str = "[workspace]\nresolver = \"2\"\nmembers = [\n    \"raptors-kernels\",\n    \"raptors-py\",\n    \"xtask\",\n]\n";
    const OLD_LAYOUT: &str =
        "[workspace]\nmembers = [\"crates/raptors-kernels\", \"crates/raptors-py\"]\n";

    #[test]
    fn members_are_found_in_either_layout() {
        assert_eq!(
            workspace_member(WORKSPACE, "raptors-py").as_deref(),
            Some("raptors-py")
        );
        assert_eq!(
            workspace_member(OLD_LAYOUT, "raptors-py").as_deref(),
            Some("crates/raptors-py")
        );
        assert_eq!(
            workspace_member("[package]\nname = \"x\"\n", "raptors-py"),
            None
        );
        assert_eq!(workspace_member(WORKSPACE, "raptors-asm"), None);
    }

    #[test]
    fn a_revision_resolves_or_says_plainly_why_not() {
        let r = repo(&[
            ("before the workspace", None),
            ("a single crate", Some("[package]\nname = \"raptors\"\n")),
            ("the workspace", Some(WORKSPACE)),
        ]);
        let ok = Revision::resolve(&r.0, "HEAD").unwrap();
        assert_eq!(ok.raptors_py, "raptors-py");
        assert_eq!(ok.revision.subject, "the workspace");
        assert_eq!(ok.revision.commit.len(), 40);
        let missing = format!(
            "{:#}",
            Revision::resolve(&r.0, "no-such-branch").unwrap_err()
        );
        assert!(
            missing.contains("no-such-branch: no such revision"),
            "{missing}"
        );
        let far = format!("{:#}", Revision::resolve(&r.0, "HEAD~7").unwrap_err());
        assert!(far.contains("no such revision"), "{far}");
        for old in ["HEAD~1", "HEAD~2"] {
            let e = format!("{:#}", Revision::resolve(&r.0, old).unwrap_err());
            assert!(e.contains("predates the workspace"), "{old}: {e}");
        }
    }
}
