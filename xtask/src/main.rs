//! `cargo xtask <command>`: the project's glue (the cargo-xtask pattern). It only orchestrates —
//! set-up, running tests, benchmarks and the profile job; the logic lives in the crates it calls.

mod bench;
mod cross;
mod profile;
mod setup;
mod steps;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "Raptors project tasks", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run every test: fmt, clippy, cargo test, aarch64 tests under qemu, pytest.
    Test(test::TestArgs),
    /// Write the NumPy-vs-Raptors evidence folder to benchmarks/profiles/.
    Profile(profile::ProfileArgs),
    /// Time Raptors against NumPy (paired, interleaved) and write benchmarks/results/.
    Bench(bench::BenchArgs),
    /// Install what the other commands need (system packages, .venv, the raptors module).
    Setup(SetupArgs),
}

#[derive(clap::Args, Debug)]
struct SetupArgs {
    /// Do not install the aarch64 cross toolchain and qemu.
    #[arg(long)]
    no_cross: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Test(args) => test::run(args),
        Cmd::Profile(args) => profile::run(args),
        Cmd::Bench(args) => bench::run(args),
        Cmd::Setup(args) => setup::ensure_system_packages(setup::SystemNeeds {
            host_tools: true,
            cross: !args.no_cross,
        })
        .and_then(|()| setup::ensure_venv())
        .and_then(|()| setup::build_python_module()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
