//! Parser for llvm-mca's text report (the summary, `--bottleneck-analysis` and the
//! resource-pressure view), tested against recorded outputs in `tests/fixtures/mca/`.

use serde::{Deserialize, Serialize};

/// Pressure on one scheduler resource (all units of a group summed, e.g. `Zn3FP45` = `[12.0]`
/// + `[12.1]` ÷ 2 units: the per-unit average).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourcePressure {
    pub resource: String,
    /// Cycles per iteration the busiest unit of this resource is occupied.
    pub cycles_per_iteration: f64,
}

/// What limits the loop, from the bottleneck analysis and the resource-pressure view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bottleneck {
    /// `resource` (a port/unit saturates), `dependency` (a loop-carried chain) or `dispatch`
    /// (neither: dispatch/issue width, also when llvm-mca found no bottleneck).
    pub kind: String,
    /// One sentence, e.g. `Zn3FP45 busy 3.00 of 3.10 cycles/iteration (resource pressure 85 %)`.
    pub summary: String,
    /// Busiest resources, most loaded first (up to 3).
    pub resources: Vec<ResourcePressure>,
    /// `--bottleneck-analysis` percentages of cycles with backend pressure (None when llvm-mca
    /// reported no bottleneck section).
    pub resource_pressure_percent: Option<f64>,
    pub register_dependency_percent: Option<f64>,
    pub memory_dependency_percent: Option<f64>,
    /// First instruction of llvm-mca's critical sequence (`+----<` marker), if it printed one.
    pub critical_instruction: Option<String>,
}

/// Numbers from one llvm-mca report (first code region).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McaNumbers {
    pub iterations: u64,
    pub instructions: u64,
    pub total_cycles: u64,
    pub total_uops: u64,
    pub dispatch_width: u64,
    pub ipc: f64,
    pub uops_per_cycle: f64,
    pub block_rthroughput: f64,
    /// `total_cycles / iterations`.
    pub cycles_per_iteration: f64,
    pub bottleneck: Bottleneck,
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(name))
        .map(|v| v.trim_start_matches(':').trim())
}

fn percent(line: &str) -> Option<f64> {
    let a = line.find('[')?;
    let b = line[a..].find('%')? + a;
    line[a + 1..b].trim().parse().ok()
}

/// Parses llvm-mca's report; the error says which part is missing or malformed.
pub fn parse(text: &str) -> Result<McaNumbers, String> {
    let num = |name: &str| -> Result<f64, String> {
        let v = field(text, name).ok_or_else(|| format!("no `{name}` line in llvm-mca output"))?;
        v.parse::<f64>()
            .map_err(|e| format!("`{name}: {v}` is not a number: {e}"))
    };
    let iterations = num("Iterations")? as u64;
    let total_cycles = num("Total Cycles")? as u64;
    if iterations == 0 {
        return Err("llvm-mca reported 0 iterations".into());
    }
    let cycles_per_iteration = total_cycles as f64 / iterations as f64;
    let resources = resource_pressure(text)?;
    let mut b = Bottleneck {
        kind: String::new(),
        summary: String::new(),
        resources,
        resource_pressure_percent: None,
        register_dependency_percent: None,
        memory_dependency_percent: None,
        critical_instruction: None,
    };
    let lines: Vec<&str> = text.lines().collect();
    let no_bottleneck = text.contains("No resource or data dependency bottlenecks discovered");
    if let Some(k) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Throughput Bottlenecks"))
    {
        for l in &lines[k + 1..] {
            let t = l.trim_start();
            if t.is_empty() {
                break;
            }
            if t.starts_with("Resource Pressure") {
                b.resource_pressure_percent = percent(t);
            } else if t.starts_with("- Register Dependencies") {
                b.register_dependency_percent = percent(t);
            } else if t.starts_with("- Memory Dependencies") {
                b.memory_dependency_percent = percent(t);
            }
        }
    }
    // ` +----< 1.    addq\t%rdx, %rdi`: the instruction after the sequence number.
    b.critical_instruction = lines
        .iter()
        .find(|l| l.contains("+----<"))
        .and_then(|l| l.split_once("+----<"))
        .and_then(|(_, r)| r.trim().split_once('.'))
        .map(|(_, i)| i.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|i| !i.is_empty());
    let top = b.resources.first().cloned();
    let deps = b
        .register_dependency_percent
        .unwrap_or(0.0)
        .max(b.memory_dependency_percent.unwrap_or(0.0));
    let res = b.resource_pressure_percent.unwrap_or(0.0);
    // A unit busy (nearly) every cycle of the iteration is saturated, whatever the percentages.
    let saturated = top
        .as_ref()
        .filter(|r| r.cycles_per_iteration >= 0.9 * cycles_per_iteration);
    let (kind, summary) = match (saturated, no_bottleneck) {
        (Some(r), _) => (
            "resource",
            format!(
                "{} busy {:.2} of {:.2} cycles/iteration{}",
                r.resource,
                r.cycles_per_iteration,
                cycles_per_iteration,
                if res > 0.0 {
                    format!(" (resource pressure {res:.0} %)")
                } else {
                    String::new()
                }
            ),
        ),
        (None, false) if deps > 0.0 && deps >= res => (
            "dependency",
            format!(
                "loop-carried dependency chain{} ({} dependencies {deps:.0} % of cycles)",
                b.critical_instruction
                    .as_ref()
                    .map(|i| format!(" through `{i}`"))
                    .unwrap_or_default(),
                if b.memory_dependency_percent.unwrap_or(0.0)
                    > b.register_dependency_percent.unwrap_or(0.0)
                {
                    "memory"
                } else {
                    "register"
                }
            ),
        ),
        (None, false) if res > 0.0 => (
            "resource",
            format!(
                "resource pressure {res:.0} % of cycles{}",
                top.as_ref()
                    .map(|r| format!(
                        ", busiest {} {:.2} cycles/iteration",
                        r.resource, r.cycles_per_iteration
                    ))
                    .unwrap_or_default()
            ),
        ),
        _ => (
            "dispatch",
            format!(
                "no port or dependency limit: dispatch/issue width ({:.2} IPC{})",
                num("IPC")?,
                top.as_ref()
                    .map(|r| format!(
                        ", busiest {} {:.2} cycles/iteration",
                        r.resource, r.cycles_per_iteration
                    ))
                    .unwrap_or_default()
            ),
        ),
    };
    b.kind = kind.into();
    b.summary = summary;
    Ok(McaNumbers {
        iterations,
        instructions: num("Instructions")? as u64,
        total_cycles,
        total_uops: num("Total uOps")? as u64,
        dispatch_width: num("Dispatch Width")? as u64,
        ipc: num("IPC")?,
        uops_per_cycle: num("uOps Per Cycle")?,
        block_rthroughput: num("Block RThroughput")?,
        cycles_per_iteration,
        bottleneck: b,
    })
}

/// The `Resources:` legend and the `Resource pressure per iteration:` row, folded per resource
/// name (the busiest unit of a group), most loaded first, top 3.
fn resource_pressure(text: &str) -> Result<Vec<ResourcePressure>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(legend) = lines.iter().position(|l| l.trim() == "Resources:") else {
        return Err("no `Resources:` legend in llvm-mca output".into());
    };
    let mut names: Vec<(String, String)> = Vec::new();
    for l in &lines[legend + 1..] {
        let t = l.trim();
        if t.is_empty() {
            break;
        }
        // `[12.0] - Zn3FP45`
        let Some((id, name)) = t.split_once(" - ") else {
            continue;
        };
        names.push((id.trim().to_string(), name.trim().to_string()));
    }
    let Some(k) = lines
        .iter()
        .position(|l| l.trim() == "Resource pressure per iteration:")
    else {
        return Err("no `Resource pressure per iteration:` view in llvm-mca output".into());
    };
    let header: Vec<&str> = lines
        .get(k + 1)
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let values: Vec<&str> = lines
        .get(k + 2)
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    if header.len() != values.len() || header.is_empty() {
        return Err(format!(
            "resource pressure view: {} column headers but {} values",
            header.len(),
            values.len()
        ));
    }
    let mut by_name: Vec<ResourcePressure> = Vec::new();
    for (h, v) in header.iter().zip(&values) {
        let cycles = if *v == "-" {
            0.0
        } else {
            v.parse::<f64>()
                .map_err(|e| format!("resource pressure {h}: {v:?}: {e}"))?
        };
        let name = names
            .iter()
            .find(|(id, _)| id == h)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| h.to_string());
        match by_name.iter_mut().find(|r| r.resource == name) {
            Some(r) => r.cycles_per_iteration = r.cycles_per_iteration.max(cycles),
            None => by_name.push(ResourcePressure {
                resource: name,
                cycles_per_iteration: cycles,
            }),
        }
    }
    by_name.sort_by(|a, b| {
        b.cycles_per_iteration
            .partial_cmp(&a.cycles_per_iteration)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.resource.cmp(&b.resource))
    });
    by_name.retain(|r| r.cycles_per_iteration > 0.0);
    by_name.truncate(3);
    Ok(by_name)
}
