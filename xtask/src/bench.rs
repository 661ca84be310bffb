//! `cargo xtask bench`: set-up, then raptors-bench's comparison run (which owns the method, the
//! statistics, the verdicts and the reports), written to benchmarks/results/.

use std::path::PathBuf;

use anyhow::{bail, Result};
use raptors_bench::compare::{self, CompareOptions};

use crate::setup::{self, project_root, SystemNeeds};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Small matrix for smoke runs (< 60 s).
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated ops of the op table (default: its compare set).
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

fn list<T: std::str::FromStr>(text: &str, what: &str) -> Result<Vec<T>> {
    let parse = |x: &str| {
        x.trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("bad {what} {x:?}"))
    };
    text.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(parse)
        .collect()
}

/// The comparison these flags ask for.
pub fn options(args: &BenchArgs) -> Result<CompareOptions> {
    let mut o = CompareOptions::new(setup::venv_python(), args.quick);
    if let Some(ops) = &args.ops {
        o.runner.ops = list(ops, "op")?;
    }
    if let Some(d) = &args.dtypes {
        o.runner.dtypes = list(d, "dtype")?;
    }
    if let Some(s) = &args.sizes {
        o.runner.sizes = list(s, "size")?;
    }
    o.runner.threads = args.threads;
    o.baseline.clone_from(&args.baseline);
    o.out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| project_root().join("benchmarks/results"));
    o.plot = true;
    Ok(o)
}

pub fn run(args: BenchArgs) -> Result<()> {
    let opts = options(&args)?;
    setup::ensure_system_packages(SystemNeeds {
        host_tools: true,
        cross: false,
    })?;
    setup::ensure_venv()?;
    setup::build_python_module()?;
    let out = compare::run(&opts);
    raptors_bench::runner::cleanup_scratch();
    let out = out?;
    let r = &out.results;
    println!(
        "{}\n{}",
        raptors_bench::report::aa_table(&r.aa_check),
        raptors_bench::report::table(&r.cells)
    );
    eprintln!(
        "wrote {} and {}",
        out.json_path.display(),
        out.md_path.display()
    );
    if let Err(e) = &out.png {
        eprintln!("no plot: {e}");
    }
    if let Some((md, regressions)) = &out.baseline {
        println!("{md}");
        if *regressions > 0 {
            bail!("{regressions} significant regression(s) against the baseline");
        }
    }
    match (&r.runner_error, r.interrupted) {
        (Some(e), _) => {
            bail!("the comparison runner failed: {e} (the cells it measured were written)")
        }
        (None, true) => bail!("interrupted: partial results written"),
        _ => Ok(()),
    }
}
