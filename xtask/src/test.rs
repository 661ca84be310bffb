//! `cargo xtask test`: every test of the project, in order, with a banner per step and a summary.

use std::process::Command;

use anyhow::{bail, Result};

use crate::cross::{cross_cargo, host_cargo, Arch, CrossPurpose};
use crate::setup::{self, project_root, SystemNeeds};
use crate::steps::{run_streaming, Outcome, Steps};

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Skip the aarch64 (NEON) tests under qemu-user on an x86-64 host. For local use only: CI
    /// never passes it.
    #[arg(long)]
    pub no_cross: bool,
    /// Also run the opt-in container test (builds the profile image; needs Docker; slow).
    #[arg(long)]
    pub container: bool,
}

pub fn run(args: TestArgs) -> Result<()> {
    let steps = Steps::default();
    let setup_ok = steps
        .step("set-up: system packages and .venv", || {
            setup::ensure_system_packages(SystemNeeds {
                host_tools: true,
                cross: !args.no_cross,
            })?;
            setup::ensure_rust_lint_tools()?;
            setup::ensure_venv()
        })
        .is_ok();
    if setup_ok {
        steps.tests("cargo fmt --check", || {
            run_streaming(host_cargo().args(["fmt", "--all", "--check"]))
        });
        // The kernels' ndarray doctests and tests need their feature; named here rather than
        // relying on another crate's dev-dependency to switch it on.
        let ndarray = ["--features", "raptors-kernels/ndarray"];
        steps.tests("cargo clippy (all targets, -D warnings)", || {
            let lint = ["--", "-D", "warnings"];
            run_streaming(
                host_cargo()
                    .args(["clippy", "--workspace", "--all-targets"])
                    .args(ndarray)
                    .args(lint),
            )
        });
        let host = Arch::host();
        steps.tests(&format!("cargo test --workspace ({host})"), || {
            run_streaming(host_cargo().args(["test", "--workspace"]).args(ndarray))
        });
        steps.tests("example: raptors-kernels on an ndarray matrix", || {
            run_streaming(host_cargo().args([
                "run",
                "-p",
                "raptors-kernels",
                "--example",
                "ndarray_matrix",
                "--features",
                "ndarray",
            ]))
        });
        other_architecture_tests(&steps, host, args.no_cross);
        let built = steps.step(
            "build the raptors module (maturin, release)",
            setup::build_python_module,
        );
        if built.is_ok() {
            steps.tests("pytest (Python package)", || {
                let mut cmd = Command::new(setup::venv_python());
                cmd.current_dir(project_root())
                    .args(["-m", "pytest", "-p", "no:cacheprovider"])
                    .args(python_test_dirs());
                run_streaming(&mut cmd)
            });
        }
        if args.container {
            let _ = steps.step(
                "container profile (opt-in)",
                crate::profile::container::run_container_test,
            );
        }
    }
    steps.print_summary("cargo xtask test — summary");
    let records = steps.records();
    let mut total = crate::steps::TestCounts::default();
    records
        .iter()
        .filter_map(|r| r.counts)
        .for_each(|c| total.add(c));
    // A plain closing line that any CI log reader understands.
    let failed_steps: Vec<&str> = records
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
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
    if !failed_steps.is_empty() {
        bail!("some test steps failed (see the summary above)");
    }
    for r in records.iter().filter(|r| r.outcome == Outcome::Skipped) {
        eprintln!("note: not run — {}: {}", r.name, r.reason);
    }
    Ok(())
}

/// The kernels of the architecture that is not the host's. On an x86-64 host the aarch64 (NEON)
/// tests are cross-built and run under qemu-user; on an aarch64 host the NEON tests already ran
/// natively with the workspace, and the x86-64 SIMD levels cannot run here: that is said, not
/// skipped silently.
fn other_architecture_tests(steps: &Steps, host: Arch, no_cross: bool) {
    let other = host.other();
    let name = format!("raptors-kernels tests on {other} (qemu-user)");
    match other {
        Arch::Aarch64 if no_cross => steps.skip(
            &name,
            "--no-cross was given (local shortcut; CI never passes it): the NEON kernels were not tested",
        ),
        Arch::Aarch64 => {
            steps.tests(&name, || {
                run_streaming(cross_cargo(other, CrossPurpose::RunUnderQemu).args([
                    "test",
                    "--target",
                    other.triple(),
                    "-p",
                    "raptors-kernels",
                ]))
            });
        }
        Arch::X86_64 => steps.skip(
            &format!("raptors-kernels tests on {other}"),
            &format!(
                "this is an {host} host: the {} kernels cannot run here (the NEON and scalar \
                 levels ran natively in the workspace tests); they are tested on x86-64 hosts and in CI",
                other.simd_levels().join("/")
            ),
        ),
    }
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
