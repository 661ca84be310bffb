//! `cargo xtask bench`: set-up, then the raptors-bench comparison runner (which owns the method,
//! statistics and reports).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::setup::{self, project_root, pyo3_env, SystemNeeds};
use crate::steps::run_inherit;

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Small matrix for smoke runs (< 60 s).
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated ops (sum, mean, mean_axis0, mean_axis1, broadcast_add_row, ...).
    #[arg(long)]
    pub ops: Option<String>,
    /// Comma-separated dtypes: f32,f64.
    #[arg(long)]
    pub dtypes: Option<String>,
    /// Comma-separated square sizes: 512,1024,2048.
    #[arg(long)]
    pub sizes: Option<String>,
    /// Earlier results JSON to compare with; exits non-zero on a significant regression.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Where results go (default benchmarks/results).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Threads Raptors may use (RAPTORS_THREADS); `--threads 1` compares kernels without the noise
    /// of a shared second core. Results go to <machine-tag>-threads<N>.*.
    #[arg(long)]
    pub threads: Option<usize>,
}

impl BenchArgs {
    /// The raptors-bench `compare` arguments these flags translate to.
    pub fn compare_args(&self, out_dir: &std::path::Path) -> Vec<String> {
        let mut args = vec![
            "compare".to_string(),
            "--python".to_string(),
            setup::venv_python().display().to_string(),
            "--out-dir".to_string(),
            out_dir.display().to_string(),
            "--plot".to_string(),
        ];
        if self.quick {
            args.push("--quick".into());
        }
        for (flag, value) in [
            ("--ops", &self.ops),
            ("--dtypes", &self.dtypes),
            ("--sizes", &self.sizes),
        ] {
            if let Some(v) = value {
                args.push(flag.into());
                args.push(v.clone());
            }
        }
        if let Some(b) = &self.baseline {
            args.push("--baseline".into());
            args.push(b.display().to_string());
        }
        if let Some(t) = self.threads {
            args.push("--threads".into());
            args.push(t.to_string());
        }
        args
    }
}

/// `cargo run --release -p raptors-bench -- <args>` with the project's Python environment.
pub fn raptors_bench(args: &[String]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(project_root())
        .args(["run", "--quiet", "--release", "-p", "raptors-bench", "--"])
        .args(args);
    pyo3_env(&mut cmd);
    cmd
}

pub fn run(args: BenchArgs) -> Result<()> {
    setup::ensure_system_packages(SystemNeeds {
        host_tools: true,
        cross: false,
    })?;
    setup::ensure_venv()?;
    setup::build_python_module()?;
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| project_root().join("benchmarks/results"));
    run_inherit(&mut raptors_bench(&args.compare_args(&out_dir)))
}
