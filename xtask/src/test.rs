//! `cargo xtask test`: every test of the project, in order, with a banner per step and a summary.

use std::process::Command;

use anyhow::{bail, Result};

use crate::setup::{self, project_root, pyo3_env, SystemNeeds};
use crate::steps::{run_streaming, Steps};

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Skip the aarch64 (NEON) tests under qemu-user. For local use only: CI never passes it.
    #[arg(long)]
    pub no_cross: bool,
    /// Also run the opt-in container test (builds the profile image; needs Docker; slow).
    #[arg(long)]
    pub container: bool,
}

/// The cargo that runs this xtask (rustup's), for the host steps.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(project_root());
    pyo3_env(&mut cmd);
    cmd
}

/// Debian's cargo/rustc, which ship the aarch64 standard library. A separate target dir keeps the
/// two toolchains from invalidating each other's artefacts.
pub fn cross_cargo() -> Command {
    let mut cmd = Command::new("/usr/bin/cargo");
    cmd.current_dir(project_root())
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTDOC", "/usr/bin/rustdoc")
        .env("CARGO_TARGET_DIR", project_root().join("target/cross"))
        // rustup's proxies must not leak into Debian's toolchain.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO");
    cmd
}

pub fn run(args: TestArgs) -> Result<()> {
    let mut steps = Steps::default();
    let setup_ok = steps.run("set-up: system packages and .venv", || {
        setup::ensure_system_packages(SystemNeeds {
            host_tools: true,
            cross: !args.no_cross,
        })?;
        setup::ensure_rust_lint_tools()?;
        setup::ensure_venv()?;
        Ok(None)
    });
    if setup_ok {
        steps.run("cargo fmt --check", || {
            run_streaming(cargo().args(["fmt", "--all", "--check"]))?;
            Ok(None)
        });
        steps.run("cargo clippy (all targets, -D warnings)", || {
            run_streaming(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            Ok(None)
        });
        steps.run("cargo test --workspace (x86-64)", || {
            Ok(Some(run_streaming(cargo().args(["test", "--workspace"]))?))
        });
        if args.no_cross {
            eprintln!("\n⚠ --no-cross: the aarch64 (NEON) tests were NOT run");
        } else {
            steps.run("raptors-kernels tests on aarch64 (qemu-user)", || {
                Ok(Some(run_streaming(cross_cargo().args([
                    "test",
                    "--target",
                    "aarch64-unknown-linux-gnu",
                    "-p",
                    "raptors-kernels",
                ]))?))
            });
        }
        let built = steps.run("build the raptors module (maturin, release)", || {
            setup::build_python_module()?;
            Ok(None)
        });
        if built {
            steps.run("pytest (Python package)", || {
                let mut cmd = Command::new(setup::venv_python());
                cmd.current_dir(project_root())
                    .args(["-m", "pytest", "-p", "no:cacheprovider"])
                    .args(python_test_dirs());
                Ok(Some(run_streaming(&mut cmd)?))
            });
        }
        if args.container {
            steps.run("container profile (opt-in)", || {
                crate::profile::container::run_container_test()?;
                Ok(None)
            });
        }
    }
    steps.print_summary("cargo xtask test — summary");
    let total = steps.total_counts();
    // A plain closing line that any CI log reader understands.
    let failed_steps: Vec<&str> = steps
        .reports
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.name.as_str())
        .collect();
    println!(
        "xtask: {} passed, {} failed, {} skipped{}",
        total.passed,
        total.failed,
        total.ignored,
        if failed_steps.is_empty() {
            String::new()
        } else {
            format!("; FAILED steps: {}", failed_steps.join(", "))
        }
    );
    if !steps.all_ok() {
        bail!("some test steps failed (see the summary above)");
    }
    if args.no_cross {
        eprintln!("note: aarch64 tests skipped by --no-cross");
    }
    Ok(())
}

/// Every folder holding pytest suites: the binding's tests (always) and the Python tests of other
/// crates where they have any.
fn python_test_dirs() -> Vec<String> {
    let root = project_root();
    let mut dirs = vec!["raptors-py/tests".to_string()];
    dirs.extend(
        ["raptors-bench/python/tests"]
            .into_iter()
            .filter(|d| root.join(d).is_dir())
            .map(String::from),
    );
    dirs
}
