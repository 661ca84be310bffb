//! valgrind set-up shared by the cachegrind counters (`collect`) and the callgrind hot-function
//! run (`callgrind`): which Raptors SIMD level to force, and the base command.
//!
//! valgrind cannot execute every instruction set the CPU has: on x86-64 it knows nothing of
//! AVX-512 (3.19 dies on it, and hides it from CPUID), so Raptors is forced to the best level
//! below that the CPU and the build have (`avx2`, else `sse2`, else `scalar`); on aarch64 it runs
//! NEON. NumPy picks its own dispatch target from valgrind's CPUID. The level is forced rather than
//! left to Raptors's detection so that the record says what ran and a level the machine lacks is an
//! error with Raptors's own message, never a silent fallback.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Raptors SIMD levels valgrind can execute on a host architecture (`std::env::consts::ARCH`
/// spelling), best first.
pub fn candidate_levels(arch: &str) -> &'static [&'static str] {
    match arch {
        "x86_64" => &["avx2", "sse2", "scalar"],
        "aarch64" => &["neon", "scalar"],
        _ => &["scalar"],
    }
}

/// The level forced under valgrind, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValgrindLevel {
    /// `RAPTORS_SIMD` value given to the program under valgrind.
    pub level: String,
    /// Host architecture (`x86_64`, `aarch64`).
    pub host_arch: String,
    /// Better levels that were tried and refused, with Raptors's reason.
    pub refused: Vec<(String, String)>,
    /// One sentence for reports: what runs under valgrind and why.
    pub note: String,
}

/// Picks the first of [`candidate_levels`] that `accepts` (`Err`: the reason it cannot run).
pub fn choose_level(
    host_arch: &str,
    mut accepts: impl FnMut(&str) -> Result<(), String>,
) -> Result<ValgrindLevel> {
    let mut refused = Vec::new();
    for level in candidate_levels(host_arch) {
        match accepts(level) {
            Ok(()) => {
                let why = match host_arch {
                    "x86_64" => "valgrind cannot execute AVX-512",
                    "aarch64" => "valgrind runs NEON",
                    _ => "no SIMD level of Raptors is known to run under valgrind on this architecture",
                };
                let mut note = format!(
                    "under valgrind Raptors is forced to `{level}` ({why}; NumPy picks its \
                     dispatch target from valgrind's CPUID)"
                );
                if !refused.is_empty() {
                    let names: Vec<&str> = refused
                        .iter()
                        .map(|(l, _): &(String, String)| l.as_str())
                        .collect();
                    note.push_str(&format!("; not available here: {}", names.join(", ")));
                }
                return Ok(ValgrindLevel {
                    level: level.to_string(),
                    host_arch: host_arch.to_string(),
                    refused,
                    note,
                });
            }
            Err(why) => refused.push((level.to_string(), why)),
        }
    }
    let tried: Vec<String> = refused.iter().map(|(l, w)| format!("{l}: {w}")).collect();
    bail!(
        "no Raptors SIMD level that valgrind can run is available on this {host_arch} host ({})",
        tried.join("; ")
    )
}

/// A level the caller asked for: it must be one valgrind runs on this host and one `accepts`.
pub fn forced_level(
    host_arch: &str,
    level: &str,
    accepts: impl FnOnce(&str) -> Result<(), String>,
) -> Result<ValgrindLevel> {
    let ok = candidate_levels(host_arch);
    if !ok.contains(&level) {
        bail!(
            "valgrind cannot run Raptors's `{level}` level on {host_arch} (it can: {})",
            ok.join(", ")
        );
    }
    accepts(level).map_err(|e| anyhow::anyhow!("RAPTORS_SIMD={level} cannot run here: {e}"))?;
    Ok(ValgrindLevel {
        level: level.to_string(),
        host_arch: host_arch.to_string(),
        refused: Vec::new(),
        note: format!("under valgrind Raptors is forced to `{level}` (as asked)"),
    })
}

/// Asks the Raptors module `python` imports whether it runs at `level` (an unavailable level is
/// an error there, with the reason).
pub fn python_accepts(python: &Path, pythonpath: Option<&Path>, level: &str) -> Result<(), String> {
    let mut cmd = crate::runner::python_command(python, pythonpath);
    cmd.args(["-c", "import raptors; print(raptors.simd_level())"])
        .env("RAPTORS_SIMD", level);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed without a message")
            .trim()
            .to_string())
    }
}

/// The level for programs run by `python` under valgrind on this host.
pub fn level_for_python(python: &Path, pythonpath: Option<&Path>) -> Result<ValgrindLevel> {
    choose_level(std::env::consts::ARCH, |l| {
        python_accepts(python, pythonpath, l)
    })
}

/// `valgrind --version`, or None when valgrind is not installed.
pub fn version() -> Option<String> {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// `valgrind --tool=<tool>` with the benchmark environment and `RAPTORS_SIMD=<level>`; the caller
/// adds the tool's options, then the program and its arguments.
pub fn command(tool: &str, level: &ValgrindLevel, pythonpath: Option<&Path>) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.arg(format!("--tool={tool}"));
    crate::runner::apply_bench_env(&mut cmd, pythonpath);
    cmd.env("RAPTORS_SIMD", &level.level);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_never_forces_avx512_and_falls_back_with_reasons() {
        assert!(!candidate_levels("x86_64").contains(&"avx512"));
        let l = choose_level("x86_64", |_| Ok(())).unwrap();
        assert_eq!(l.level, "avx2");
        assert!(l.note.contains("AVX-512") && l.refused.is_empty());
        let l = choose_level("x86_64", |lvl| {
            if lvl == "avx2" {
                Err("RAPTORS_SIMD=avx2: this CPU lacks avx2".into())
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert_eq!(l.level, "sse2");
        assert_eq!(l.refused[0].0, "avx2");
        assert!(l.note.contains("not available here: avx2"), "{}", l.note);
    }

    #[test]
    fn a_forced_level_must_be_one_valgrind_runs() {
        let e = forced_level("x86_64", "avx512", |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("avx2, sse2, scalar"), "{e}");
        assert_eq!(
            forced_level("x86_64", "sse2", |_| Ok(())).unwrap().level,
            "sse2"
        );
        assert!(forced_level("aarch64", "neon", |_| Err("no".into())).is_err());
    }

    #[test]
    fn aarch64_runs_neon_and_unknown_hosts_scalar() {
        assert_eq!(choose_level("aarch64", |_| Ok(())).unwrap().level, "neon");
        assert_eq!(choose_level("riscv64", |_| Ok(())).unwrap().level, "scalar");
        let e = choose_level("aarch64", |l| Err(format!("no {l}"))).unwrap_err();
        assert!(
            e.to_string().contains("neon: no neon; scalar: no scalar"),
            "{e}"
        );
    }
}
