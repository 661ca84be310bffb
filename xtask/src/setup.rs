//! Everything the two README commands need on a fresh machine: system packages (apt-get when root
//! on Debian/Ubuntu, otherwise the exact command to run), the project-local `.venv` with the pinned
//! Python requirements, and the `raptors` module built into it by maturin. Each part is a fast
//! no-op when it is already in place.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cross::Arch;
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
    SystemTool {
        probe: "llvm-mca-19",
        package: "llvm-19",
        why: "llvm-mca: predicted cycles of hot loops on CPU models this machine is not (znver, Neoverse, Apple)",
    },
];

/// What an x86-64 host needs for the aarch64 side: Debian's toolchain (its rustc ships the aarch64
/// std), the cross linker and binutils, aarch64 glibc (the disassembler's cross-check input) and
/// qemu-user, which runs the NEON tests.
const CROSS_TOOLS_FOR_AARCH64: &[SystemTool] = &[
    DEBIAN_RUSTC,
    DEBIAN_CARGO,
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
        probe: "/usr/aarch64-linux-gnu/lib/libc.so.6",
        package: "libc6-arm64-cross",
        why: "an aarch64 library the disassembler is cross-checked on",
    },
    SystemTool {
        probe: "qemu-aarch64-static",
        package: "qemu-user-static",
        why: "runs the aarch64 (NEON) tests on this x86-64 machine",
    },
];

/// What an aarch64 host needs for the x86-64 side, which is analysed statically there (NumPy's
/// x86-64 wheel, a cross-built x86-64 Raptors library): the same parts, for x86-64. No qemu: the
/// x86-64 SIMD levels are not run on an aarch64 host (`cargo xtask test` says so).
const CROSS_TOOLS_FOR_X86_64: &[SystemTool] = &[
    DEBIAN_RUSTC,
    DEBIAN_CARGO,
    SystemTool {
        probe: "/usr/lib/rustlib/x86_64-unknown-linux-gnu/lib",
        package: "libstd-rust-web-dev:amd64",
        why: "the x86-64 Rust standard library",
    },
    SystemTool {
        probe: "x86_64-linux-gnu-gcc",
        package: "gcc-x86-64-linux-gnu",
        why: "linker for x86-64 binaries",
    },
    SystemTool {
        probe: "x86_64-linux-gnu-objdump",
        package: "binutils-x86-64-linux-gnu",
        why: "reference disassembler for x86-64",
    },
    SystemTool {
        probe: "/usr/x86_64-linux-gnu/lib/libm.so.6",
        package: "libc6-amd64-cross",
        why: "an x86-64 library the disassembler is cross-checked on",
    },
];

const DEBIAN_RUSTC: SystemTool = SystemTool {
    probe: "/usr/bin/rustc",
    package: "rustc-web",
    why: "Debian's rustc, which has the other architecture's standard library",
};

const DEBIAN_CARGO: SystemTool = SystemTool {
    probe: "/usr/bin/cargo",
    package: "cargo-web",
    why: "Debian's cargo, matching that rustc",
};

/// The system tools for the architecture that is not the host's.
fn cross_tools(host: Arch) -> &'static [SystemTool] {
    match host.other() {
        Arch::Aarch64 => CROSS_TOOLS_FOR_AARCH64,
        Arch::X86_64 => CROSS_TOOLS_FOR_X86_64,
    }
}

fn tool_present(probe: &str) -> bool {
    if probe.starts_with('/') {
        return Path::new(probe).exists();
    }
    which(probe).is_some()
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
        wanted.extend(cross_tools(Arch::host()));
    }
    let missing: Vec<&SystemTool> = wanted
        .into_iter()
        .filter(|t| !tool_present(t.probe))
        .collect();
    if missing.is_empty() {
        eprintln!("system packages: all present");
    } else {
        install_missing(&missing)?;
    }
    check_rustc(&host_rustc())?;
    if needs.cross {
        check_rustc("/usr/bin/rustc")?;
    }
    Ok(())
}

fn install_missing(missing: &[&SystemTool]) -> Result<()> {
    for t in missing {
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

/// The Rust version the kernels need (`rust-version` of the workspace, AVX-512 intrinsics), read
/// from the workspace manifest so it is written in one place.
fn required_rust_version() -> Result<(u32, u32)> {
    let manifest = project_root().join("Cargo.toml");
    let text =
        fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    text.lines()
        .find_map(|l| {
            let value = l.trim().strip_prefix("rust-version")?.trim_start();
            parse_version(value.strip_prefix('=')?.trim().trim_matches('"'))
        })
        .with_context(|| format!("no rust-version in {}", manifest.display()))
}

/// `major.minor` of a version such as `1.89`, `1.96.0` or `rustc 1.85.0 (4d91de4e4 2025-02-17)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let version = text
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The rustc that builds the host's kernels: `RUSTC` if set, else the one on PATH.
fn host_rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

/// Checks that `rustc` is new enough for the kernels. Debian bookworm's release suite has
/// rustc-web 1.85, below the kernels' rust-version; 1.96 comes from bookworm-security. cargo would
/// only say "requires rustc 1.89", so the fix is named here, before any build.
fn check_rustc(rustc: &str) -> Result<()> {
    let (need_major, need_minor) = required_rust_version()?;
    let out = Command::new(rustc)
        .arg("--version")
        .output()
        .with_context(|| format!("running {rustc} --version"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (major, minor) = parse_version(&text)
        .with_context(|| format!("cannot read the version of {rustc} from {text:?}"))?;
    if (major, minor) >= (need_major, need_minor) {
        return Ok(());
    }
    let resolved = which(rustc).unwrap_or_else(|| PathBuf::from(rustc));
    let debian = resolved.starts_with("/usr/bin");
    let fix = if debian {
        format!(
            "On Debian bookworm, rustc-web {need_major}.{need_minor} or newer comes from the security \
             and updates suites: add `bookworm-security` (URIs: http://deb.debian.org/debian-security) \
             and `bookworm-updates` to /etc/apt/sources.list.d/debian.sources (or sources.list), then \
             run `apt-get update && apt-get install rustc-web cargo-web` and this command again"
        )
    } else {
        "Update the toolchain (`rustup update stable`) and run this command again".to_string()
    };
    bail!(
        "{} is rustc {major}.{minor}, older than the {need_major}.{need_minor} the kernels need \
         (rust-version in Cargo.toml: AVX-512 intrinsics). {fix}",
        resolved.display()
    )
}

/// `command` resolved on PATH (an absolute path is returned as it is when it exists).
pub fn which(command: &str) -> Option<PathBuf> {
    if command.contains('/') {
        return Some(PathBuf::from(command)).filter(|p| p.exists());
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| dir.join(command).is_file()))
        .map(|dir| dir.join(command))
}

/// `apt-get install` of `packages` when root on a Debian-like system; otherwise an error with the
/// exact command to run.
fn apt_install(packages: &[&str]) -> Result<()> {
    let mut packages = packages.to_vec();
    packages.sort();
    packages.dedup();
    // Packages of a foreign architecture (`libstd-rust-web-dev:arm64`) need it added to dpkg first.
    let mut foreign: Vec<&str> = packages
        .iter()
        .filter_map(|p| p.split_once(':').map(|(_, arch)| arch))
        .collect();
    foreign.sort();
    foreign.dedup();
    let command = format!(
        "{}apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {}",
        foreign
            .iter()
            .map(|a| format!("dpkg --add-architecture {a} && "))
            .collect::<String>(),
        packages.join(" ")
    );
    if !is_root() || !tool_present("apt-get") {
        bail!(
            "required system packages are missing and cannot be installed automatically \
             (need root on Debian/Ubuntu). Run:\n    sudo sh -c '{command}'"
        );
    }
    eprintln!("installing system packages: {}", packages.join(" "));
    for arch in &foreign {
        run_inherit(Command::new("dpkg").args(["--add-architecture", arch]))?;
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

/// The cargo target directory (`CARGO_TARGET_DIR`, relative to the project root, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                project_root().join(p)
            }
        })
        .unwrap_or_else(|| project_root().join("target"))
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

/// The `.venv`'s maturin with the venv first on PATH and pyo3's settings.
pub fn maturin() -> Command {
    let venv = venv_dir();
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(venv.join("bin").join("maturin"));
    pyo3_env(&mut cmd)
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", path);
    cmd
}

/// Builds the `raptors` extension with maturin (release profile) into `.venv`.
pub fn build_python_module() -> Result<()> {
    let root = project_root();
    run_inherit(
        maturin()
            .current_dir(&root)
            .args(["develop", "--release", "--quiet", "-m"])
            .arg(root.join("raptors-py/Cargo.toml")),
    )
    .context("building the raptors Python module with maturin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_manifests_and_rustc_output() {
        assert_eq!(parse_version("1.89"), Some((1, 89)));
        assert_eq!(
            parse_version("rustc 1.85.0 (4d91de4e4 2025-02-17) (built from a source tarball)"),
            Some((1, 85))
        );
        assert_eq!(parse_version("rustc"), None);
        let (major, minor) = required_rust_version().unwrap();
        assert!((major, minor) >= (1, 85), "{major}.{minor}");
    }

    #[test]
    fn cross_tools_are_those_of_the_other_architecture() {
        let other = Arch::host().other();
        let tools = cross_tools(Arch::host());
        assert!(tools
            .iter()
            .any(|t| t.probe == format!("{}gcc", other.gnu_prefix())));
        assert!(tools
            .iter()
            .any(|t| t.package.starts_with("libstd-rust-web-dev:")
                && t.probe.contains(other.triple())));
        // Nothing of the host's own architecture is installed as a cross tool.
        let host = Arch::host();
        assert!(!tools.iter().any(|t| t.probe.contains(host.gnu_prefix())));
    }
}
