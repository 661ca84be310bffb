//! llvm-mca predictions for a loop on CPU models we do not have: cycles per iteration, cycles per
//! input element, IPC and the bottleneck, per model in [`MODELS`] (plus the host's model).
//!
//! The loop body comes from [`crate::loops`] (`Loop::mca`, llvm-mca syntax with symbolic branch
//! targets); it is piped to llvm-mca once per model. Static analysis needs no CPU: an AVX-512 loop
//! is predicted on an AVX-512 model on any host, and a model lacking the ISA (e.g. `znver3` for
//! AVX-512) is reported as an error with llvm-mca's reason, never dropped.

use std::io::Write;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::elf::{Arch, ElfFile};
use crate::error::AsmError;
use crate::loops::Loop;
use crate::mca_parse::{parse, Bottleneck};
use crate::symbols::{Function, SymbolTable};

/// One CPU model of the fixed list.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuModel {
    pub arch: Arch,
    /// llvm-mca's `-mcpu` name.
    pub cpu: &'static str,
    /// What it stands for, and how far to trust it.
    pub note: &'static str,
}

/// The models every loop is predicted on (one place; the README lists them).
pub const MODELS: &[CpuModel] = &[
    CpuModel {
        arch: Arch::X86_64,
        cpu: "znver3",
        note: "AMD Zen 3 (AVX2, no AVX-512)",
    },
    CpuModel {
        arch: Arch::X86_64,
        cpu: "znver4",
        note: "AMD Zen 4 (AVX-512 on 256-bit units)",
    },
    CpuModel {
        arch: Arch::X86_64,
        cpu: "sapphirerapids",
        note: "Intel Sapphire Rapids (AVX-512)",
    },
    CpuModel {
        arch: Arch::Aarch64,
        cpu: "neoverse-n1",
        note: "Arm Neoverse N1 (AWS Graviton2, Ampere Altra)",
    },
    CpuModel {
        arch: Arch::Aarch64,
        cpu: "neoverse-v1",
        note: "Arm Neoverse V1 (AWS Graviton3)",
    },
    CpuModel {
        arch: Arch::Aarch64,
        cpu: "neoverse-v2",
        note: "Arm Neoverse V2 (AWS Graviton4, NVIDIA Grace)",
    },
    CpuModel {
        arch: Arch::Aarch64,
        cpu: "apple-m1",
        note: "Apple M1: LLVM schedules it with its Cyclone-derived model; compare loops on it, \
               do not read its cycles as M1 measurements",
    },
];

/// llvm-mca binaries tried in order (Debian's `llvm-19` first: the numbers are recorded with
/// it), then newer and unversioned ones. `RAPTORS_LLVM_MCA` overrides.
pub const TOOL_CANDIDATES: &[&str] = &[
    "llvm-mca-19",
    "llvm-mca-22",
    "llvm-mca-21",
    "llvm-mca-20",
    "llvm-mca",
];
/// Debian package that provides `llvm-mca-19`.
pub const PACKAGE: &str = "llvm-19";
/// Simulated iterations per prediction (enough for a steady state; the ramp-up is < 1 %).
pub const ITERATIONS: u32 = 1000;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum McaError {
    #[error("llvm-mca not found (tried {}): install it with `apt-get install {package}`", tried.join(", "))]
    ToolMissing {
        tried: Vec<String>,
        package: &'static str,
    },
    #[error("{tool}: {reason}")]
    Tool { tool: String, reason: String },
    #[error(transparent)]
    Asm(#[from] AsmError),
}

/// A probed llvm-mca.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub path: String,
    /// `LLVM version 19.1.7`.
    pub version: String,
    /// LLVM's name for this machine's CPU (`Host CPU:` of `--version`), if it has one.
    pub host_cpu: Option<String>,
}

/// Finds llvm-mca: `RAPTORS_LLVM_MCA`, else the first of [`TOOL_CANDIDATES`] that runs.
pub fn probe_tool() -> Result<Tool, McaError> {
    match std::env::var("RAPTORS_LLVM_MCA") {
        Ok(p) => probe_tool_from(&[p.as_str()]),
        Err(_) => probe_tool_from(TOOL_CANDIDATES),
    }
}

/// The first of `candidates` that runs `--version`; the error names them and the package.
pub fn probe_tool_from(candidates: &[&str]) -> Result<Tool, McaError> {
    let mut tried = Vec::new();
    for name in candidates.iter().map(|s| s.to_string()) {
        tried.push(name.clone());
        let Ok(o) = Command::new(&name).arg("--version").output() else {
            continue;
        };
        if !o.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&o.stdout);
        let version = text
            .lines()
            .find(|l| l.contains("LLVM version"))
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| "unknown version".into());
        let host_cpu = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Host CPU:"))
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty() && c != "generic");
        return Ok(Tool {
            path: name,
            version,
            host_cpu,
        });
    }
    Err(McaError::ToolMissing {
        tried,
        package: PACKAGE,
    })
}

/// One model's prediction, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub cpu: String,
    /// `list` (from [`MODELS`]), `host` (this machine's model, not in the list) or `extra`
    /// (asked for).
    pub source: String,
    /// This is the model of the machine running the analysis (compare with measurements).
    pub host: bool,
    pub cycles_per_iteration: Option<f64>,
    /// `cycles_per_iteration / elements_per_iteration` (None when the elements are unknown).
    pub cycles_per_element: Option<f64>,
    pub ipc: Option<f64>,
    pub block_rthroughput: Option<f64>,
    pub bottleneck: Option<Bottleneck>,
    /// Why llvm-mca gave no numbers (unknown model, unsupported instruction, parse failure).
    pub error: Option<String>,
}

/// `mca` result for one loop.
#[derive(Debug, Clone, Serialize)]
pub struct McaReport {
    pub file: String,
    pub arch: Arch,
    pub function: String,
    pub address: u64,
    /// `hottest` (static guess) or `address` (the loop containing a given address).
    pub selected_by: &'static str,
    pub loop_start: u64,
    pub loop_end: u64,
    pub instructions: u64,
    pub elements_per_iteration: Option<f64>,
    pub elements_basis: String,
    pub tool: String,
    pub tool_version: String,
    pub host_cpu: Option<String>,
    pub iterations: u32,
    pub predictions: Vec<Prediction>,
    /// The llvm-mca input that was simulated.
    pub body: String,
}

/// The CPU models for `arch`: the fixed list, then the host's model when the host has this
/// architecture and LLVM names its CPU, then `extra`.
pub fn models_for(arch: Arch, tool: &Tool, extra: &[String]) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = MODELS
        .iter()
        .filter(|m| m.arch == arch)
        .map(|m| (m.cpu.to_string(), "list"))
        .collect();
    if let Some(h) = tool.host_cpu.as_ref().filter(|_| host_arch() == arch) {
        if !v.iter().any(|(c, _)| c == h) {
            v.push((h.clone(), "host"));
        }
    }
    for e in extra {
        if !v.iter().any(|(c, _)| c == e) {
            v.push((e.clone(), "extra"));
        }
    }
    v
}

/// Architecture of the machine running this code.
pub(crate) fn host_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::Aarch64
    } else {
        Arch::X86_64
    }
}

fn triple(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64-unknown-linux-gnu",
        Arch::Aarch64 => "aarch64-unknown-linux-gnu",
    }
}

/// Runs llvm-mca on `body` for one CPU; `Err` carries llvm-mca's reason.
pub fn run_one(tool: &Tool, arch: Arch, cpu: &str, body: &str) -> Result<String, String> {
    let mut child = Command::new(&tool.path)
        .arg(format!("-mtriple={}", triple(arch)))
        .arg(format!("-mcpu={cpu}"))
        .arg(format!("-iterations={ITERATIONS}"))
        .arg("--bottleneck-analysis")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", tool.path))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(body.as_bytes())
            .map_err(|e| format!("cannot write to {}: {e}", tool.path))?;
    }
    let o = child
        .wait_with_output()
        .map_err(|e| format!("{} failed: {e}", tool.path))?;
    interpret(
        &tool.path,
        cpu,
        o.status.code(),
        &String::from_utf8_lossy(&o.stdout),
        &String::from_utf8_lossy(&o.stderr),
    )
}

/// llvm-mca's outcome from its exit code (`None`: killed by a signal), stdout and stderr: the
/// report text, or the reason there is none.
pub fn interpret(
    tool: &str,
    cpu: &str,
    exit: Option<i32>,
    stdout: &str,
    stderr: &str,
) -> Result<String, String> {
    // An unknown -mcpu is only a warning: llvm-mca would silently use a generic model.
    if stderr.contains("is not a recognized processor") {
        return Err(format!("{tool} has no scheduling model for {cpu:?}"));
    }
    if exit != Some(0) {
        if stderr.contains("unsupported instruction") {
            let insn = stderr
                .lines()
                .find_map(|l| l.trim().strip_prefix("note: instruction:"))
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default();
            return Err(format!(
                "{cpu} cannot run this loop: llvm-mca has no scheduling data for `{insn}` on it \
                 (an ISA extension the CPU lacks, e.g. AVX-512)"
            ));
        }
        let reason: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(4)
            .map(|l| l.trim())
            .collect();
        return Err(format!(
            "llvm-mca failed (exit {}): {}",
            exit.map(|c| c.to_string())
                .unwrap_or_else(|| "by signal".into()),
            reason.join(" | ")
        ));
    }
    Ok(stdout.to_string())
}

/// Predicts `l` (a loop of an `arch` library) on each model.
pub fn predict_loop(
    tool: &Tool,
    arch: Arch,
    l: &Loop,
    models: &[(String, &'static str)],
) -> Vec<Prediction> {
    models
        .iter()
        .map(|(cpu, source)| {
            let mut p = Prediction {
                cpu: cpu.clone(),
                source: source.to_string(),
                host: tool.host_cpu.as_deref() == Some(cpu.as_str()) && arch == host_arch(),
                cycles_per_iteration: None,
                cycles_per_element: None,
                ipc: None,
                block_rthroughput: None,
                bottleneck: None,
                error: None,
            };
            match run_one(tool, arch, cpu, &l.mca).and_then(|out| parse(&out)) {
                Ok(n) => {
                    p.cycles_per_iteration = Some(n.cycles_per_iteration);
                    p.cycles_per_element = l
                        .elements_per_iteration
                        .filter(|&e| e > 0.0)
                        .map(|e| n.cycles_per_iteration / e);
                    p.ipc = Some(n.ipc);
                    p.block_rthroughput = Some(n.block_rthroughput);
                    p.bottleneck = Some(n.bottleneck);
                }
                Err(e) => p.error = Some(e),
            }
            p
        })
        .collect()
}

/// Predicts the hottest loop of `f` (static choice), or with `at` the innermost loop containing
/// that address, on the models for the file's architecture plus `extra_cpus`.
pub fn predict(
    elf: &ElfFile,
    table: &SymbolTable,
    f: &Function,
    at: Option<u64>,
    tool: &Tool,
    extra_cpus: &[String],
) -> Result<McaReport, McaError> {
    let side = crate::compare::side_at(elf, table, f, at)?;
    let l = side.hot_loop.ok_or_else(|| AsmError::Symbol {
        path: elf.path.clone(),
        reason: format!("{} has no loop to predict", f.name),
    })?;
    let models = models_for(elf.arch, tool, extra_cpus);
    let predictions = predict_loop(tool, elf.arch, &l, &models);
    Ok(McaReport {
        file: elf.path.display().to_string(),
        arch: elf.arch,
        function: f.name.clone(),
        address: f.address,
        selected_by: side.selected_by,
        loop_start: l.start,
        loop_end: l.end,
        instructions: l.instructions,
        elements_per_iteration: l.elements_per_iteration,
        elements_basis: l.elements_basis.clone(),
        tool: tool.path.clone(),
        tool_version: tool.version.clone(),
        host_cpu: tool.host_cpu.clone(),
        iterations: ITERATIONS,
        predictions,
        body: l.mca,
    })
}

/// Human-readable table.
pub fn mca_text(r: &McaReport, out: &mut String) {
    use std::fmt::Write as _;
    let f2 = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
    let f3 = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "<{}> loop {:#x}..{:#x} ({} by {}): {} instructions/iteration, {} elements/iteration",
        r.function,
        r.loop_start,
        r.loop_end,
        r.arch.display_name(),
        r.selected_by,
        r.instructions,
        r.elements_per_iteration
            .map(|e| format!("{e}"))
            .unwrap_or_else(|| format!("unknown ({})", r.elements_basis))
    );
    let _ = writeln!(
        out,
        "{} ({}), {} iterations simulated",
        r.tool, r.tool_version, r.iterations
    );
    let w = r
        .predictions
        .iter()
        .map(|p| p.cpu.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let _ = writeln!(
        out,
        "{:w$}  {:>10}  {:>10}  {:>5}  bottleneck",
        "cpu", "cycles/it", "cycles/el", "IPC"
    );
    for p in &r.predictions {
        let what = match (&p.bottleneck, &p.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(b), None) => format!("{}: {}", b.kind, b.summary),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "{:w$}  {:>10}  {:>10}  {:>5}  {}{}",
            p.cpu,
            f2(p.cycles_per_iteration),
            f3(p.cycles_per_element),
            f2(p.ipc),
            what,
            match (p.source.as_str(), p.host) {
                ("list", false) => String::new(),
                ("list", true) => " [host]".to_string(),
                (s, _) => format!(" [{s}]"),
            }
        );
    }
}
