//! Everything the two README commands need on a fresh machine: system packages (apt-get when root
//! on Debian/Ubuntu, otherwise the exact command to run), the project-local `.venv` with the pinned
//! Python requirements, and the `raptors` module built into it by maturin. Each part is a fast
//! no-op when it is already in place.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::steps::run_inherit;

/// A system tool the project needs, and the Debian package that provides it.
struct SystemTool {
    /// Path or command name to probe.
    probe: &'static str,
    package: &'static str,
    why: &'static str,
}

const HOST_TOOLS: &[SystemTool] = &[
    SystemTool {
        probe: "objdump",
        package: "binutils",
        why: "reference disassembler for the raptors-asm cross-check",
    },
    SystemTool {
        probe: "valgrind",
        package: "valgrind",
        why: "instruction counts when hardware counters are unavailable; hot-function discovery",
    },
    SystemTool {
        probe: "perf",
        package: "linux-perf",
        why: "perf stat counters",
    },
];

/// The aarch64 cross toolchain (Debian's rustc ships the aarch64 std) and qemu-user.
const CROSS_TOOLS: &[SystemTool] = &[
    SystemTool {
        probe: "/usr/bin/rustc",
        package: "rustc-web",
        why: "Debian's rustc, which has an aarch64 standard library",
    },
    SystemTool {
        probe: "/usr/bin/cargo",
        package: "cargo-web",
        why: "Debian's cargo, matching that rustc",
    },
    SystemTool {
        probe: "/usr/lib/rustlib/aarch64-unknown-linux-gnu/lib",
        package: "libstd-rust-web-dev:arm64",
        why: "the aarch64 Rust standard library",
    },
    SystemTool {
        probe: "aarch64-linux-gnu-gcc",
        package: "gcc-aarch64-linux-gnu",
        why: "linker for aarch64 binaries",
    },
    SystemTool {
        probe: "aarch64-linux-gnu-objdump",
        package: "binutils-aarch64-linux-gnu",
        why: "reference disassembler for AArch64",
    },
    SystemTool {
        probe: "qemu-aarch64-static",
        package: "qemu-user-static",
        why: "runs the aarch64 (NEON) tests on this x86-64 machine",
    },
];

fn tool_present(probe: &str) -> bool {
    if probe.starts_with('/') {
        return Path::new(probe).exists();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(probe).is_file()))
        .unwrap_or(false)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Which groups of system packages a command needs.
#[derive(Clone, Copy, Debug)]
pub struct SystemNeeds {
    pub host_tools: bool,
    pub cross: bool,
}

/// Installs missing system packages with apt-get when running as root on a Debian-like system;
/// otherwise stops with the exact command to run. Never skips silently.
pub fn ensure_system_packages(needs: SystemNeeds) -> Result<()> {
    let mut wanted: Vec<&SystemTool> = Vec::new();
    if needs.host_tools {
        wanted.extend(HOST_TOOLS);
    }
    if needs.cross {
        wanted.extend(CROSS_TOOLS);
    }
    let missing: Vec<&SystemTool> = wanted
        .into_iter()
        .filter(|t| !tool_present(t.probe))
        .collect();
    if missing.is_empty() {
        eprintln!("system packages: all present");
        return Ok(());
    }
    for t in &missing {
        eprintln!("missing: {} (package {}) — {}", t.probe, t.package, t.why);
    }
    let packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    apt_install(&packages)?;
    let still: Vec<&str> = missing
        .iter()
        .filter(|t| !tool_present(t.probe))
        .map(|t| t.probe)
        .collect();
    if !still.is_empty() {
        bail!("after installing, still missing: {}", still.join(", "));
    }
    Ok(())
}

/// `apt-get install` of `packages` when root on a Debian-like system; otherwise an error with the
/// exact command to run.
fn apt_install(packages: &[&str]) -> Result<()> {
    let mut packages = packages.to_vec();
    packages.sort();
    packages.dedup();
    let needs_arm64 = packages.iter().any(|p| p.ends_with(":arm64"));
    let command = format!(
        "{}apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {}",
        if needs_arm64 {
            "dpkg --add-architecture arm64 && "
        } else {
            ""
        },
        packages.join(" ")
    );
    if !is_root() || !tool_present("apt-get") {
        bail!(
            "required system packages are missing and cannot be installed automatically \
             (need root on Debian/Ubuntu). Run:\n    sudo sh -c '{command}'"
        );
    }
    eprintln!("installing system packages: {}", packages.join(" "));
    if needs_arm64 {
        run_inherit(Command::new("dpkg").args(["--add-architecture", "arm64"]))?;
    }
    run_inherit(Command::new("apt-get").args(["update", "-q"]))?;
    run_inherit(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q"])
            .args(&packages),
    )
    .with_context(|| format!("apt-get failed; the command was: {command}"))
}

/// The cargo that runs xtask (the one the test steps use).
fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo_subcommand_works(sub: &str) -> bool {
    Command::new(cargo_bin())
        .args([sub, "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The Debian package providing `component` (rustfmt or clippy) for the installed Debian rustc
/// flavour (`rustc-web` in bookworm-updates, else `rustc`).
fn debian_lint_package(component: &str, rustc_web: bool) -> &'static str {
    match (component, rustc_web) {
        ("rustfmt", true) => "rustfmt-web",
        ("rustfmt", false) => "rustfmt",
        (_, true) => "rust-web-clippy",
        (_, false) => "rust-clippy",
    }
}

/// `cargo fmt` and `cargo clippy` for the cargo running xtask (the test command's lint steps).
/// A rustup toolchain gets the missing components with `rustup component add`; a Debian toolchain
/// (no rustup, e.g. `rustc-web` in a bare image) gets the matching packages with apt-get.
pub fn ensure_rust_lint_tools() -> Result<()> {
    // (cargo subcommand, rustup component) pairs whose subcommand does not run.
    let missing_now = || -> Vec<&'static str> {
        [("fmt", "rustfmt"), ("clippy", "clippy")]
            .into_iter()
            .filter(|(sub, _)| !cargo_subcommand_works(sub))
            .map(|(_, component)| component)
            .collect()
    };
    let missing = missing_now();
    if missing.is_empty() {
        return Ok(());
    }
    let cargo = cargo_bin();
    eprintln!(
        "missing for {cargo}: {} (needed by the fmt and clippy steps)",
        missing.join(", ")
    );
    let debian_cargo = Path::new(&cargo)
        .canonicalize()
        .map(|p| p.starts_with("/usr/"))
        .unwrap_or(false);
    if tool_present("rustup") && !debian_cargo {
        run_inherit(
            Command::new("rustup")
                .args(["component", "add"])
                .args(&missing),
        )
        .context("rustup component add")?;
    } else {
        let rustc_web = Command::new("dpkg")
            .args(["-s", "rustc-web"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        let packages: Vec<&str> = missing
            .iter()
            .map(|c| debian_lint_package(c, rustc_web))
            .collect();
        apt_install(&packages)?;
    }
    let still = missing_now();
    if !still.is_empty() {
        bail!(
            "after installing, {} still missing for {cargo}",
            still.join(" and ")
        );
    }
    Ok(())
}

/// The project root (the workspace directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

pub fn venv_dir() -> PathBuf {
    project_root().join(".venv")
}

pub fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

/// Creates `.venv` and installs `requirements.txt` into it; a stamp with the requirements'
/// content makes the second run a no-op.
pub fn ensure_venv() -> Result<()> {
    let root = project_root();
    let requirements = root.join("requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv_dir().join(".raptors-requirements");
    if venv_python().exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        eprintln!(".venv: up to date ({})", venv_dir().display());
        return Ok(());
    }
    let python = find_python()?;
    if !venv_python().exists() {
        let created = run_inherit(Command::new(&python).args(["-m", "venv"]).arg(venv_dir()));
        if let Err(err) = created {
            if is_root() && tool_present("apt-get") {
                eprintln!("python3 -m venv failed ({err:#}); installing python3-venv");
                run_inherit(Command::new("apt-get").args(["update", "-q"]))?;
                run_inherit(
                    Command::new("apt-get")
                        .env("DEBIAN_FRONTEND", "noninteractive")
                        .args(["install", "-y", "-q", "python3-venv"]),
                )?;
                let _ = fs::remove_dir_all(venv_dir());
                run_inherit(Command::new(&python).args(["-m", "venv"]).arg(venv_dir()))?;
            } else {
                bail!("{err:#}\n`{python} -m venv` failed: install the venv module (Debian: `sudo apt-get install python3-venv`)");
            }
        }
    }
    run_inherit(
        Command::new(venv_python())
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
            ])
            .arg(&requirements),
    )?;
    fs::write(&stamp, wanted)?;
    Ok(())
}

fn find_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        if tool_present(candidate) {
            let out = Command::new(candidate)
                .args(["-c", "import sys; print(sys.version_info >= (3, 9))"])
                .output();
            if let Ok(out) = out {
                if String::from_utf8_lossy(&out.stdout).trim() == "True" {
                    return Ok(candidate.to_string());
                }
            }
        }
    }
    bail!("python3 (>= 3.9) not found: install it (Debian: `sudo apt-get install python3 python3-venv`)")
}

/// Environment shared by every cargo invocation that builds raptors-py, so pyo3's build
/// configuration never flips between runs (which would rebuild the world twice).
pub fn pyo3_env(cmd: &mut Command) -> &mut Command {
    cmd.env("PYO3_PYTHON", venv_python())
}

/// Builds the `raptors` extension with maturin (release profile) into `.venv`.
pub fn build_python_module() -> Result<()> {
    let root = project_root();
    let venv = venv_dir();
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run_inherit(
        pyo3_env(&mut Command::new(venv.join("bin").join("maturin")))
            .current_dir(&root)
            .env("VIRTUAL_ENV", &venv)
            .env("PATH", path)
            .args(["develop", "--release", "--quiet", "-m"])
            .arg(root.join("raptors-py/Cargo.toml")),
    )
    .context("building the raptors Python module with maturin")
}
