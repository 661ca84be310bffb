//! `cargo xtask profile`: writes the NumPy-vs-Raptors evidence folder (benchmarks/profiles/).
//! Orchestration only — locating, disassembling and loop analysis are raptors-asm's, timing and
//! counters raptors-bench's; this module runs them per op, finds the functions that really run
//! (callgrind), and assembles their outputs into the report. Artifacts are written to a temp
//! folder and swapped in atomically; a failing step is recorded and the others still run.

mod adapters;
mod analysis;
mod artifacts;
mod callgrind;
pub mod container;
mod findings;
mod model;
mod pipeline;
mod probes;
mod provenance;
mod publish;
mod report;
mod runlog;
mod select;
mod symbols;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;

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
    /// Small matrix (timings at 512²/1024², fewer callgrind repetitions): < 2 minutes.
    #[arg(long)]
    pub quick: bool,
    /// Comma-separated ops: sum, mean, mean_axis0, mean_axis1, broadcast_add_row,
    /// broadcast_add_col, add, scale (default: all).
    #[arg(long)]
    pub ops: Option<String>,
    #[arg(long, value_enum, default_value = "all")]
    pub dtype: DtypeSel,
    /// x86_64 (dynamic + static analysis), aarch64 (static analysis of NumPy's aarch64 wheel and
    /// a cross-built Raptors library), or all.
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
}

/// What one run covers, validated from the flags.
#[derive(Clone, Debug)]
pub struct Plan {
    pub quick: bool,
    pub ops: Vec<String>,
    pub dtypes: Vec<String>,
    pub x86: bool,
    pub aarch64: bool,
    pub command: String,
}

impl Plan {
    pub fn from_args(args: &ProfileArgs) -> Result<Plan> {
        let known = callgrind::op_names();
        let ops: Vec<String> = match &args.ops {
            None => known.iter().map(|s| s.to_string()).collect(),
            Some(list) => {
                let ops: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                if ops.is_empty() {
                    bail!("--ops is empty; known ops: {}", known.join(", "));
                }
                for op in &ops {
                    if !known.contains(&op.as_str()) {
                        bail!(
                            "unknown op {op:?} in --ops; known ops: {}",
                            known.join(", ")
                        );
                    }
                }
                ops
            }
        };
        let dtypes = match args.dtype {
            DtypeSel::F32 => vec!["f32".to_string()],
            DtypeSel::F64 => vec!["f64".to_string()],
            DtypeSel::All => vec!["f32".to_string(), "f64".to_string()],
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
        match args.arch {
            ArchSel::X86_64 => command.push_str(" --arch x86_64"),
            ArchSel::Aarch64 => command.push_str(" --arch aarch64"),
            ArchSel::All => {}
        }
        Ok(Plan {
            quick: args.quick,
            ops,
            dtypes,
            // aarch64 analysis maps from the x86-64 functions callgrind found, so it needs them;
            // `--arch aarch64` still runs the x86-64 discovery but writes only aarch64 results.
            x86: args.arch != ArchSel::Aarch64,
            aarch64: args.arch != ArchSel::X86_64,
            command,
        })
    }
}

pub fn default_out_dir() -> PathBuf {
    project_root().join("benchmarks/profiles")
}

pub fn run(args: ProfileArgs) -> Result<()> {
    if args.container {
        return container::run_profile_container(&args);
    }
    let plan = Plan::from_args(&args)?;
    let dest = match &args.out_dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => std::env::current_dir()?.join(d),
        None => default_out_dir(),
    };
    let started = std::time::Instant::now();
    let outcome = publish::publish_atomically(&dest, |tmp| pipeline::profile_into(tmp, &plan))?;
    // docs/findings.md follows the committed evidence folder only, not scratch runs.
    if dest == default_out_dir() {
        let doc = project_root().join("docs/findings.md");
        std::fs::write(&doc, report::render_findings_doc(&outcome.report))
            .with_context(|| format!("writing {}", doc.display()))?;
    }
    eprintln!(
        "\nprofile written to {} in {:.0} s: {} steps, {} failed",
        dest.display(),
        started.elapsed().as_secs_f64(),
        outcome.report.steps.len(),
        outcome.failed.len()
    );
    for f in &outcome.failed {
        eprintln!("  ✗ {f}");
    }
    if !outcome.failed.is_empty() {
        bail!(
            "{} profile step(s) failed (the report and profile.log say why); the other artifacts were written",
            outcome.failed.len()
        );
    }
    Ok(())
}
