//! Summarise `cargo bench -p raptors-bench` (criterion's `target/criterion/*/*/new/*.json`) into a
//! GB/s table per kernel × dtype × size with one column per SIMD level.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CriterionEntry {
    /// `kernel/dtype/size`
    pub group: String,
    /// SIMD level label, e.g. `auto=avx512`, `avx2`, `scalar`.
    pub level: String,
    pub median_ns: f64,
    pub median_ci_ns: (f64, f64),
    pub bytes: Option<u64>,
    /// bytes / median time; null without a throughput.
    pub gbs: Option<f64>,
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    throughput: Option<BTreeMap<String, u64>>,
}

/// Read every benchmark under `dir` (criterion's output directory).
pub fn read_dir(dir: &Path) -> Result<Vec<CriterionEntry>> {
    let mut out = Vec::new();
    let groups = std::fs::read_dir(dir).with_context(|| {
        format!(
            "reading {} (run `cargo bench -p raptors-bench` first)",
            dir.display()
        )
    })?;
    for g in groups.flatten() {
        let Ok(funcs) = std::fs::read_dir(g.path()) else {
            continue;
        };
        for f in funcs.flatten() {
            let new = f.path().join("new");
            let (Ok(b), Ok(e)) = (
                std::fs::read_to_string(new.join("benchmark.json")),
                std::fs::read_to_string(new.join("estimates.json")),
            ) else {
                continue;
            };
            let b: BenchmarkJson =
                serde_json::from_str(&b).with_context(|| format!("{}", new.display()))?;
            let e: serde_json::Value =
                serde_json::from_str(&e).with_context(|| format!("{}", new.display()))?;
            let med = &e["median"];
            let (Some(point), Some(lo), Some(hi)) = (
                med["point_estimate"].as_f64(),
                med["confidence_interval"]["lower_bound"].as_f64(),
                med["confidence_interval"]["upper_bound"].as_f64(),
            ) else {
                continue;
            };
            let bytes = b
                .throughput
                .as_ref()
                .and_then(|t| t.get("BytesDecimal").or_else(|| t.get("Bytes")).copied());
            out.push(CriterionEntry {
                group: b.group_id,
                level: b.function_id.unwrap_or_default(),
                median_ns: point,
                median_ci_ns: (lo, hi),
                bytes,
                gbs: bytes.map(|by| by as f64 / point),
            });
        }
    }
    anyhow::ensure!(
        !out.is_empty(),
        "no criterion results under {}",
        dir.display()
    );
    out.sort_by(|a, b| {
        group_key(&a.group)
            .cmp(&group_key(&b.group))
            .then(a.level.cmp(&b.level))
    });
    Ok(out)
}

/// Sort kernel/dtype/size with sizes numerically.
fn group_key(g: &str) -> (String, String, u64) {
    let mut it = g.split('/');
    let k = it.next().unwrap_or_default().to_string();
    let d = it.next().unwrap_or_default().to_string();
    let s = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (d, k, s)
}

pub fn markdown(entries: &[CriterionEntry], header: &str) -> String {
    let mut levels: Vec<&str> = entries.iter().map(|e| e.level.as_str()).collect();
    levels.sort_by_key(|l| (!l.starts_with("auto"), *l));
    levels.dedup();
    let mut s = format!("{header}\n\n| kernel | ");
    s.push_str(
        &levels
            .iter()
            .map(|l| format!("{l} GB/s (median time)"))
            .collect::<Vec<_>>()
            .join(" | "),
    );
    s.push_str(" |\n|---|");
    s.push_str(&"---:|".repeat(levels.len()));
    s.push('\n');
    let mut groups: Vec<&str> = entries.iter().map(|e| e.group.as_str()).collect();
    groups.dedup();
    for g in groups {
        let _ = write!(s, "| {g} |");
        for l in &levels {
            match entries.iter().find(|e| e.group == g && e.level == *l) {
                Some(e) => {
                    let t = if e.median_ns < 1e6 {
                        format!("{:.1} µs", e.median_ns / 1e3)
                    } else {
                        format!("{:.2} ms", e.median_ns / 1e6)
                    };
                    let _ = write!(
                        s,
                        " {} ({t}) |",
                        e.gbs.map_or("–".into(), |v| format!("{v:.1}"))
                    );
                }
                None => s.push_str(" not run |"),
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_layout_and_builds_table() {
        let dir = std::env::temp_dir().join(format!("raptors-bench-crit-{}", std::process::id()));
        for (lvl, ns) in [("auto=avx512", 10_000.0), ("scalar", 40_000.0)] {
            let new = dir.join("sum_f32_512").join(lvl).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(
                new.join("benchmark.json"),
                format!(r#"{{"group_id":"sum/f32/512","function_id":"{lvl}","throughput":{{"BytesDecimal":1048576}}}}"#),
            )
            .unwrap();
            std::fs::write(
                new.join("estimates.json"),
                format!(r#"{{"median":{{"point_estimate":{ns},"confidence_interval":{{"lower_bound":{},"upper_bound":{}}}}}}}"#, ns * 0.9, ns * 1.1),
            )
            .unwrap();
        }
        let e = read_dir(&dir).unwrap();
        assert_eq!(e.len(), 2);
        let auto = e.iter().find(|x| x.level.starts_with("auto")).unwrap();
        assert!((auto.gbs.unwrap() - 104.8576).abs() < 1e-9);
        let md = markdown(&e, "# t");
        assert!(
            md.contains("| sum/f32/512 | 104.9 (10.0 µs) | 26.2 (40.0 µs) |"),
            "{md}"
        );
        std::fs::remove_dir_all(&dir).ok();
        assert!(read_dir(&dir).is_err());
    }
}
