//! `cargo xtask profile`: the NumPy-vs-Raptors evidence folder (benchmarks/profiles/). Orchestration
//! only: raptors-bench runs callgrind, perf sampling, the timings and the counters and stores the
//! one verdict; raptors-asm locates, chooses, maps, disassembles and compares; the folder's schema,
//! the function choice that combines both and the rendering are `raptors_bench::evidence`. The host's
//! architecture is *measured* (executed, profiled, timed); the other one is analysed *statically*
//! (NumPy's wheel and a cross-built Raptors kernels library for it). Artifacts are written to a
//! temp folder and swapped in atomically; a failing step is recorded and the others still run.

mod against;
pub mod container;
mod inputs;
mod pipeline;
mod publish;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::ValueEnum;
use raptors_bench::evidence::revision::Revision;
use raptors_bench::ops::{table, Suite};

use crate::cross::Arch;
use crate::setup::project_root;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DtypeSel {
    F32,
    F64,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ArchSel {
    #[value(name = "x86_64")]
    X86_64,
    #[value(name = "aarch64")]
    Aarch64,
    All,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ProfileArgs {
    /// Small matrix (timings at 512²/1024², fewer callgrind repetitions, shorter samples).
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated ops of the op table (`raptors-bench ops`; default: its profile set).
    #[arg(long)]
    pub ops: Option<String>,
    #[arg(long, value_enum, default_value = "all")]
    pub dtype: DtypeSel,
    /// Architectures analysed: the host's is measured (executed, profiled, timed), the other one
    /// analysed statically (NumPy's wheel, a cross-built Raptors library); or all.
    #[arg(long, value_enum, default_value = "all")]
    pub arch: ArchSel,
    /// Build the profile container image and run the profile inside it (Docker).
    #[arg(long)]
    pub container: bool,
    /// Base image for --container (default: raptors-base:bookworm when it exists locally,
    /// else debian:bookworm-slim).
    #[arg(long)]
    pub base_image: Option<String>,
    /// Where the artifact folder goes (default: benchmarks/profiles).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Also profile this git revision's Raptors (built once per commit under target/against/)
    /// and write what changed: against.md, against.json.
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
}

/// What one run covers, validated from the flags, for a given host.
#[derive(Clone, Debug)]
pub struct Plan {
    pub quick: bool,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    /// The measured architecture. Its functions are found by execution even when it is not
    /// analysed (`--arch` of the other one): the static side is mapped from them.
    pub host: Arch,
    /// Architectures analysed (disassembly, loops, report columns), the host's first.
    pub archs: Vec<Arch>,
    pub command: String,
}

impl Plan {
    pub fn new(args: &ProfileArgs, host: Arch) -> Result<Plan> {
        let ops: Vec<String> = match &args.ops {
            None => table()
                .default_ops(Suite::Profile)
                .iter()
                .map(|o| o.name.clone())
                .collect(),
            Some(list) => list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        if ops.is_empty() {
            bail!("--ops is empty; known ops: {}", table().names().join(", "));
        }
        for op in &ops {
            table().op(op)?;
        }
        let dtypes: Vec<String> = match args.dtype {
            DtypeSel::F32 => vec!["f32".into()],
            DtypeSel::F64 => vec!["f64".into()],
            DtypeSel::All => vec!["f32".into(), "f64".into()],
        };
        let mut command = String::from("cargo xtask profile");
        if args.quick {
            command.push_str(" --quick");
        }
        if let Some(o) = &args.ops {
            command.push_str(&format!(" --ops {o}"));
        }
        if args.dtype != DtypeSel::All {
            command.push_str(&format!(" --dtype {}", dtypes[0]));
        }
        let archs = match args.arch {
            ArchSel::All => vec![host, host.other()],
            ArchSel::X86_64 => vec![Arch::X86_64],
            ArchSel::Aarch64 => vec![Arch::Aarch64],
        };
        if args.arch != ArchSel::All {
            command.push_str(&format!(" --arch {}", archs[0]));
        }
        if let Some(rev) = &args.against {
            command.push_str(&format!(" --against {rev}"));
        }
        Ok(Plan {
            quick: args.quick,
            ops,
            dtypes,
            host,
            archs,
            command,
        })
    }

    /// The architecture analysed statically, if one is.
    pub fn static_arch(&self) -> Option<Arch> {
        self.archs.iter().copied().find(|a| *a != self.host)
    }

    /// Every op × dtype, dtype-major (the order of the report's tables).
    pub fn cells(&self) -> Vec<(String, String)> {
        let ops = &self.ops;
        self.dtypes
            .iter()
            .flat_map(|d| ops.iter().map(move |o| (o.clone(), d.clone())))
            .collect()
    }
}

pub fn default_out_dir() -> PathBuf {
    project_root().join("benchmarks/profiles")
}

pub fn run(args: ProfileArgs) -> Result<()> {
    if args.container {
        if args.against.is_some() {
            bail!(
                "--against needs this checkout's git history: it is not available with --container"
            );
        }
        return container::run_profile_container(&args);
    }
    let plan = Plan::new(&args, Arch::host())?;
    // A revision that does not exist or predates the workspace stops here, before anything runs.
    let root = project_root();
    let against = args.against.as_ref().map(|r| Revision::resolve(&root, r));
    let against = against.transpose()?;
    let dest = match &args.out_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => std::env::current_dir()?.join(d),
        None => default_out_dir(),
    };
    let started = std::time::Instant::now();
    let result = publish::publish_atomically(&dest, |tmp| {
        pipeline::profile_into(tmp, &plan, against.as_ref())
    });
    raptors_bench::runner::cleanup_scratch();
    let steps = result?;
    let failed: Vec<_> = steps
        .iter()
        .filter(|r| r.outcome == crate::steps::Outcome::Failed)
        .collect();
    eprintln!(
        "\nprofile written to {} in {:.0} s: {} steps, {} failed",
        dest.display(),
        started.elapsed().as_secs_f64(),
        steps.len(),
        failed.len()
    );
    for f in &failed {
        eprintln!("  ✗ {}: {}", f.name, f.reason.lines().next().unwrap_or(""));
    }
    if !failed.is_empty() {
        bail!(
            "{} profile step(s) failed (the report and profile.log say why); the other artifacts were written",
            failed.len()
        );
    }
    Ok(())
}
