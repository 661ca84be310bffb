//! Reading the other crates' JSON (shapes documented in raptors-asm/README.md and
//! raptors-bench/README.md) into the report model. Only field access lives here; the
//! analysis itself is theirs.

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::model::{Counters, LoopMetrics, TimingRow, Timings};

fn f64_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// `raptors-asm locate --json` → the shared object's path.
pub fn located_path(v: &Value) -> Result<String> {
    v.get("path")
        .and_then(Value::as_str)
        .map(str::to_string)
        .context("raptors-asm locate --json printed no `path`")
}

/// One side (`a` or `b`) of `raptors-asm compare --json` → the hot loop's metrics, or why there
/// is none.
pub fn loop_metrics(compare: &Value, side: &str) -> Result<LoopMetrics, String> {
    let s = compare
        .get(side)
        .ok_or_else(|| format!("compare JSON has no side {side:?}"))?;
    let function = s
        .get("function")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let l = match s.get("loop") {
        Some(Value::Null) | None => {
            let found = s.get("loops_found").and_then(Value::as_u64).unwrap_or(0);
            return Err(format!(
                "`{function}` has no innermost loop ({found} loops found: straight-line code or a \
                 call into another function)"
            ));
        }
        Some(l) => l,
    };
    let num =
        |k: &str| f64_of(l, k).ok_or_else(|| format!("compare JSON loop has no numeric `{k}`"));
    let start = l.get("start").and_then(Value::as_u64).unwrap_or(0);
    let end = l.get("end").and_then(Value::as_u64).unwrap_or(0);
    Ok(LoopMetrics {
        symbol: function,
        address_range: format!("{start:#x}..{end:#x}"),
        instructions_per_iteration: num("instructions")?,
        elements_per_iteration: f64_of(l, "elements_per_iteration"),
        instructions_per_element: f64_of(l, "instructions_per_element"),
        loads: num("loads")?,
        stores: num("stores")?,
        adds: num("adds")?,
        fmas: num("fma")?,
        vector_bits: num("vector_bits")? as u32,
        calls: f64_of(l, "calls").unwrap_or(0.0),
        unroll: f64_of(l, "unroll"),
        accumulators: f64_of(l, "accumulators"),
        bytes_read: f64_of(l, "bytes_read"),
        bytes_written: f64_of(l, "bytes_written"),
        read_streams: f64_of(l, "read_streams"),
    })
}

/// `raptors-asm simd --json` → per function: widest vector and extensions by use.
pub fn isa_rows(simd: &Value, side: &str, arch: &str) -> Vec<super::model::IsaRow> {
    let mut out = Vec::new();
    for f in simd
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut ext: Vec<(String, u64)> = f
            .get("by_extension")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                    .collect()
            })
            .unwrap_or_default();
        ext.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.push(super::model::IsaRow {
            side: side.to_string(),
            arch: arch.to_string(),
            function: f
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            max_vector_bits: f
                .get("max_vector_bits")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            extensions: ext
                .into_iter()
                .filter(|(k, _)| k != "base")
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect(),
        });
    }
    out
}

/// raptors-bench results (`raptors-bench/compare/v1`) → the timing table and the A/A check.
pub fn timings(results: &Value) -> Result<Timings> {
    let schema = results.get("schema").and_then(Value::as_str).unwrap_or("");
    if !schema.starts_with("raptors-bench/compare/") {
        bail!("not a raptors-bench compare results file (schema {schema:?})");
    }
    let cells = results
        .get("cells")
        .and_then(Value::as_array)
        .context("results have no `cells` array")?;
    let mut rows = Vec::new();
    for c in cells {
        if c.get("kind").and_then(Value::as_str) != Some("compare") {
            continue;
        }
        let stats = c.get("stats").context("cell without `stats`")?;
        let shape: Vec<String> = c
            .get("shape")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_u64)
                    .map(|d| d.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let level = c.get("level").and_then(Value::as_str).unwrap_or("auto");
        let mut op = c
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if level != "auto" {
            op = format!("{op} [{level}]");
        }
        rows.push(TimingRow {
            op,
            dtype: c
                .get("dtype")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            size: shape.join("x"),
            speedup: f64_of(stats, "speedup").context("stats without speedup")?,
            ci_low: f64_of(stats, "ci_low").context("stats without ci_low")?,
            ci_high: f64_of(stats, "ci_high").context("stats without ci_high")?,
            numpy_seconds: f64_of(stats, "ref_median_ns").map(|ns| ns * 1e-9),
            raptors_seconds: f64_of(stats, "cand_median_ns").map(|ns| ns * 1e-9),
        });
    }
    let aa: Vec<String> = results
        .get("aa_check")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|a| {
                    format!(
                        "{} ({}): {:.3}x, CI {:.3}–{:.3}, verdict {} (expected {}) — {}",
                        a.get("id").and_then(Value::as_str).unwrap_or("?"),
                        a.get("kind").and_then(Value::as_str).unwrap_or("?"),
                        f64_of(a, "speedup").unwrap_or(f64::NAN),
                        f64_of(a, "ci_low").unwrap_or(f64::NAN),
                        f64_of(a, "ci_high").unwrap_or(f64::NAN),
                        a.get("verdict").and_then(Value::as_str).unwrap_or("?"),
                        a.get("expected").and_then(Value::as_str).unwrap_or("?"),
                        if a.get("pass").and_then(Value::as_bool) == Some(true) {
                            "pass"
                        } else {
                            "FAIL"
                        }
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut skipped = Vec::new();
    if let Some(list) = results.get("skipped").and_then(Value::as_array) {
        for s in list {
            skipped.push(format!(
                "{}: {}",
                s.get("id").and_then(Value::as_str).unwrap_or("?"),
                s.get("reason").and_then(Value::as_str).unwrap_or("?")
            ));
        }
    }
    let mut aa_text = if aa.is_empty() {
        None
    } else {
        Some(aa.join("; "))
    };
    if !skipped.is_empty() {
        let note = format!("cells not measured: {}", skipped.join("; "));
        aa_text = Some(match aa_text {
            Some(t) => format!("{t}. {note}"),
            None => note,
        });
    }
    Ok(Timings {
        rows,
        aa_check: aa_text,
        plots: Vec::new(),
    })
}

/// raptors-bench `counters.json` → the classified perf status and the fallback used.
pub fn counters(report: &Value) -> Result<Counters> {
    let perf = report.get("perf").context("counters JSON has no `perf`")?;
    let status = perf
        .get("status")
        .and_then(Value::as_str)
        .context("perf without `status`")?;
    let in_container = perf
        .pointer("/context/in_container")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let label = match status {
        "works" => "perf works (hardware counters)".to_string(),
        "no_hardware_pmu" => {
            "no PMU: hardware events <not supported>, software events count".to_string()
        }
        "permission_denied" => format!(
            "permission denied ({})",
            perf.get("errno")
                .and_then(Value::as_str)
                .unwrap_or("errno unknown")
        ),
        "not_installed" => "perf not installed".to_string(),
        other => format!("perf failed ({other})"),
    };
    let mut detail = Vec::new();
    for key in ["likely_cause", "detail", "message"] {
        if let Some(t) = perf.get(key).and_then(Value::as_str) {
            if !t.trim().is_empty() {
                detail.push(t.lines().next().unwrap_or("").to_string());
            }
        }
    }
    if let Some(list) = perf.get("unsupported").and_then(Value::as_array) {
        let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        detail.push(format!("unsupported events: {}", names.join(", ")));
    }
    if let Some(p) = perf
        .pointer("/context/perf_event_paranoid")
        .and_then(Value::as_i64)
    {
        detail.push(format!("perf_event_paranoid = {p}"));
    }
    detail.push(if in_container {
        "inside a container".into()
    } else {
        "not in a container".to_string()
    });
    let vg = report.get("valgrind");
    let vg_status = vg
        .and_then(|v| v.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("absent");
    let fallback = match vg_status {
        "ran" => Some(format!(
            "valgrind ({}) counts: {}",
            vg.and_then(|v| v.get("version"))
                .and_then(Value::as_str)
                .unwrap_or("version unknown"),
            vg.and_then(|v| v.get("note"))
                .and_then(Value::as_str)
                .unwrap_or("")
        )),
        other => {
            let why = vg
                .and_then(|v| v.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (other != "absent").then(|| format!("valgrind {other}: {why}"))
        }
    };
    Ok(Counters {
        status: label,
        detail: detail.join("; "),
        fallback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_compare_sides() {
        let c = json!({
            "a": {"function": "FLOAT_add_X86_V3", "loops_found": 3, "loop": {
                "start": 4096, "end": 4160, "instructions": 12, "loads": 4, "stores": 2, "adds": 2,
                "fma": 0, "vector_bits": 256, "unroll": 2, "accumulators": 1,
                "elements_per_iteration": 16.0, "instructions_per_element": 0.75}},
            "b": {"function": "k", "loops_found": 0, "loop": null}
        });
        let a = loop_metrics(&c, "a").unwrap();
        assert_eq!(a.vector_bits, 256);
        assert_eq!(a.address_range, "0x1000..0x1040");
        assert_eq!(a.per_element(a.loads), Some(0.25));
        assert!(loop_metrics(&c, "b")
            .unwrap_err()
            .contains("no innermost loop"));
        assert!(loop_metrics(&c, "c").is_err());
    }

    #[test]
    fn reads_bench_results_and_rejects_other_files() {
        let r = json!({
            "schema": "raptors-bench/compare/v1",
            "cells": [
                {"kind": "compare", "op": "sum", "dtype": "f32", "shape": [512, 512], "level": "auto",
                 "stats": {"speedup": 1.5, "ci_low": 1.4, "ci_high": 1.6, "ref_median_ns": 3000.0, "cand_median_ns": 2000.0}},
                {"kind": "aa", "op": "sum", "dtype": "f32", "shape": [512, 512], "level": "auto", "stats": {}}
            ],
            "aa_check": [{"id": "aa/sum", "kind": "aa", "speedup": 1.0, "ci_low": 0.99, "ci_high": 1.01,
                          "verdict": "no_difference", "expected": "no_difference", "pass": true}],
            "skipped": [{"id": "add/f64/2048/auto", "reason": "timeout"}]
        });
        let t = timings(&r).unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].size, "512x512");
        assert_eq!(t.rows[0].numpy_seconds, Some(3e-6));
        let aa = t.aa_check.unwrap();
        assert!(
            aa.contains("pass") && aa.contains("add/f64/2048/auto: timeout"),
            "{aa}"
        );
        assert!(timings(&json!({"schema": "other"})).is_err());
    }

    #[test]
    fn classifies_counter_status() {
        let r = json!({
            "perf": {"status": "no_hardware_pmu", "unsupported": ["cycles", "instructions"],
                     "context": {"perf_event_paranoid": 2, "in_container": true}},
            "valgrind": {"status": "ran", "version": "valgrind-3.19.0", "note": "cachegrind at avx2"}
        });
        let c = counters(&r).unwrap();
        assert!(c.status.starts_with("no PMU"));
        assert!(
            c.detail.contains("cycles, instructions") && c.detail.contains("inside a container")
        );
        assert!(c.fallback.unwrap().contains("valgrind-3.19.0"));
        let denied = json!({"perf": {"status": "permission_denied", "errno": "EPERM",
            "likely_cause": "seccomp refuses perf_event_open", "context": {}}, "valgrind": {"status": "skipped", "reason": "perf works"}});
        let c = counters(&denied).unwrap();
        assert_eq!(c.status, "permission denied (EPERM)");
        assert!(c.detail.contains("seccomp"));
        assert!(counters(&json!({})).is_err());
    }
}
