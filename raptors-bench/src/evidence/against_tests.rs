//! `against.json` / `against.md` from synthetic runner output and hand-made loop changes: the
//! verdicts are the one rule's, the Markdown opens with what changed (snapshot, numbers and
//! addresses redacted), a revision without changes says "no difference", the JSON carries its
//! schema and reads back.

use std::collections::BTreeMap;

use super::against::*;
use super::against_md::against_md;
use super::picks::How;
use crate::stats::{decide, StatsConfig, Verdict};

/// Runner lines for one cell: `rounds` rounds around `ns` with a small deterministic wobble;
/// the old build takes `old_factor` × the new one's time, NumPy 2×.
fn cell_line(op: &str, size: usize, ns: f64, old_factor: f64, rounds: usize) -> String {
    let wobble = |i: usize, k: usize| 1.0 + 0.002 * (((i * 7 + k * 3) % 5) as f64 - 2.0);
    let new: Vec<f64> = (0..rounds).map(|i| ns * wobble(i, 0)).collect();
    let old: Vec<f64> = (0..rounds)
        .map(|i| ns * old_factor * wobble(i, 1))
        .collect();
    let np: Vec<f64> = (0..rounds).map(|i| 2.0 * ns * wobble(i, 2)).collect();
    serde_json::json!({
        "type": "cell", "id": format!("{op}/f32/{size}x{size}"), "op": op, "dtype": "f32",
        "shape": [size, size], "numpy_ns": np, "old_ns": old, "new_ns": new,
        "check_old": "ok", "check_new": "ok", "stop_reason": "precision",
    })
    .to_string()
}

fn lines(old_factor_add: f64) -> String {
    let machine = r#"{"type": "machine", "old_extension": "/t/against/abc.build/site/raptors/_raptors.so", "new_extension": "/w/raptors-py/python/raptors/_raptors.so", "old_simd_level": "avx2", "new_simd_level": "avx2"}"#;
    [
        machine.to_string(),
        cell_line("sum", 512, 20_000.0, 1.0, 40),
        cell_line("add", 512, 60_000.0, old_factor_add, 40),
        r#"{"type": "done"}"#.to_string(),
    ]
    .join("\n")
}

fn metrics(function: &str, start: u64, ipe: f64, unroll: u64) -> LoopMetrics {
    let mut cycles = BTreeMap::new();
    let per_element = Some(ipe / 4.0);
    cycles.insert(
        "znver3".to_string(),
        Ok(Cycles {
            per_iteration: 8.0 * ipe,
            per_element,
        }),
    );
    let per_element = None;
    cycles.insert(
        "apple-m1".to_string(),
        Ok(Cycles {
            per_iteration: 4.0,
            per_element,
        }),
    );
    cycles.insert("znver4".to_string(), Err("no model".to_string()));
    LoopMetrics {
        function: function.into(),
        loop_start: start,
        chosen_by: "execution".into(),
        how: How::Callgrind,
        instructions: 12,
        elements_per_iteration: Some(32.0),
        instructions_per_element: Some(ipe),
        loads_per_element: Some(0.125),
        stores_per_element: Some(0.0625),
        vector_bits: 256,
        unroll,
        accumulators: 0,
        cycles,
    }
}

fn change(op: &str, arch: &str, changed: bool) -> LoopChange {
    let isa = if arch == "x86_64" {
        "x86_64::avx2"
    } else {
        "aarch64::neon"
    };
    let f = format!("raptors_kernels::arch::{isa}::{op}_f32");
    let diff = LoopDiff {
        identical: !changed,
        removed: usize::from(changed),
        added: usize::from(changed),
        unified: if changed {
            format!("--- old:{f}@0x1a2b0\n+++ new:{f}@0x1a3c0\n@@ -1,3 +1,3 @@\n .L0:\n-  vaddps (%rsi,%rax,4),%ymm0,%ymm0\n+  vaddps (%rsi,%rax,4),%ymm1,%ymm1\n   add $0x20,%rax\n")
        } else {
            String::new()
        },
    };
    LoopChange {
        op: op.into(),
        dtype: "f32".into(),
        arch: arch.into(),
        build: if arch == "x86_64" {
            "real run"
        } else {
            "static"
        }
        .into(),
        old: Ok(metrics(&f, 0x1a2b0, 0.5, 2)),
        new: Ok(metrics(&f, 0x1a3c0, if changed { 0.375 } else { 0.5 }, 4)),
        diff: Ok(diff),
    }
}

fn report(old_factor_add: f64, add_changed: bool) -> AgainstReport {
    AgainstReport {
        schema: AGAINST_SCHEMA.into(),
        old: Revision {
            rev: "HEAD~3".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            subject: "raptors-kernels: two accumulators".into(),
        },
        new: Revision {
            rev: "HEAD".into(),
            commit: "89abcdef0123456789abcdef0123456789abcdef".into(),
            subject: "raptors-kernels: four accumulators".into(),
        },
        host: "x86_64".into(),
        quick: true,
        timings: timings_from_lines(&lines(old_factor_add)).map_err(|e| e.to_string()),
        executed: Ok(vec![ExecutedChange {
            op: "add".into(),
            dtype: "f32".into(),
            old: Some(1.5),
            new: Some(if add_changed { 1.25 } else { 1.5 }),
        }]),
        loops: Ok(vec![
            change("sum", "x86_64", false),
            change("add", "x86_64", add_changed),
            change("add", "aarch64", false),
        ]),
    }
}

fn redact(text: &str) -> String {
    super::tests::redact_with(
        text,
        &[
            (r"\b[0-9a-f]{40}\b", "[hash]"),
            (r"0x[0-9a-f]+", "[addr]"),
            (r"\d+\.\d+x?", "[num]"),
        ],
    )
}

#[test]
fn verdicts_are_the_one_rules_on_old_over_new() {
    let r = report(1.10, true);
    let t = r.timings.as_ref().unwrap();
    assert_eq!(t.cells.len(), 2);
    assert!(t.error.is_none() && t.skipped.is_empty());
    let min_effect = StatsConfig::default().min_effect;
    for c in &t.cells {
        let s = &c.old_vs_new;
        let rule = decide(s.speedup, s.decision_ci_low, s.decision_ci_high, min_effect);
        assert_eq!(s.verdict, rule, "{} {}", c.op, c.dtype);
        assert!(
            (c.numpy_vs_new.speedup - 2.0).abs() < 0.02,
            "NumPy is the reference"
        );
    }
    // The old build 10 % slower: the new one is faster; the same times: no difference.
    assert_eq!(t.cells[0].old_vs_new.verdict, Verdict::NoDifference);
    assert_eq!(t.cells[1].old_vs_new.verdict, Verdict::Faster);
    assert!((t.cells[1].old_vs_new.speedup - 1.10).abs() < 0.01);
    let slower = report(1.0 / 1.10, true);
    let cell = &slower.timings.as_ref().unwrap().cells[1];
    assert_eq!(cell.old_vs_new.verdict, Verdict::Slower);
}

#[test]
fn against_md_opens_with_what_changed() {
    let md = against_md(&report(1.10, true));
    let what = md.find("## What changed").unwrap();
    assert!(what < md.find("## Timings").unwrap());
    let opening = &md[what..md.find("## Timings").unwrap()];
    assert!(
        opening.contains("### add f32 512×512 — **faster**"),
        "{opening}"
    );
    assert!(opening.contains("x86_64 (real run): `raptors_kernels::arch::x86_64::avx2::add_f32`: instructions: 1 removed, 1 added"), "{opening}");
    assert!(
        opening.contains("aarch64 (static)") && !opening.contains("### sum"),
        "{opening}"
    );
    insta::assert_snapshot!("against_md", redact(&md));
}

#[test]
fn a_revision_without_changes_says_no_difference() {
    let md = against_md(&report(1.0, false));
    assert!(
        md.contains("2 cells timed: 0 faster, 0 slower, 2 no difference (0 unstable"),
        "{md}"
    );
    assert!(md.contains("No difference: no cell got significantly faster or slower."));
    assert!(md.contains("Hot loops with instruction changes: 0 of 3."));
    assert!(
        !md.contains("```diff"),
        "no diff block when nothing changed"
    );
}

#[test]
fn a_verdict_without_a_loop_change_says_where_else_to_look() {
    let md = against_md(&report(1.10, false));
    let opening = &md[md.find("## What changed").unwrap()..md.find("## Timings").unwrap()];
    assert!(
        opening.contains("### add f32 512×512 — **faster**"),
        "{opening}"
    );
    assert!(
        opening.contains("The hot loops did not change: the difference lies outside them"),
        "{opening}"
    );
    let md = against_md(&report(1.10, true));
    assert!(
        !md.contains("The hot loops did not change"),
        "not said when a loop changed"
    );
}

#[test]
fn json_has_its_schema_and_reads_back() {
    let r = report(1.10, true);
    let v = r.json();
    assert_eq!(v["schema"], AGAINST_SCHEMA);
    let cell = &v["timings"]["Ok"]["cells"][1];
    assert_eq!(cell["old_vs_new"]["verdict"], "faster");
    assert!(cell["numpy_vs_old"]["speedup"].as_f64().unwrap() > 1.0);
    let l = &v["loops"]["Ok"][1];
    assert_eq!(l["diff"]["Ok"]["removed"], 1);
    assert_eq!(l["new"]["Ok"]["cycles"]["znver4"]["Err"], "no model");
    let back: AgainstReport = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back.json(), v);
}

#[test]
fn a_runner_that_stops_part_way_keeps_its_cells() {
    let mut text = lines(1.0);
    text = text.replace(
        r#"{"type": "done"}"#,
        r#"{"type": "fatal", "reason": "MemoryError"}"#,
    );
    let t = timings_from_lines(&text).unwrap();
    assert_eq!(
        (t.cells.len(), t.error.as_deref()),
        (2, Some("MemoryError"))
    );
    let cut = timings_from_lines(&lines(1.0).replace(r#"{"type": "done"}"#, "")).unwrap();
    assert!(cut.error.unwrap().contains("without finishing"));
    assert!(timings_from_lines("{\"type\": \"cell\", \"op\": \"sum\"}").is_err());
}

#[test]
fn runner_processes_are_groups_of_one_cell_and_a_process_layout_is_not_a_verdict() {
    // Five processes of identical builds; one of them ran the old build 12 % slower throughout.
    let process = |factor: f64, ok: &str| {
        lines(factor).replace(r#""check_old":"ok""#, &format!(r#""check_old":"{ok}""#))
    };
    let texts: Vec<String> = [1.0, 1.0, 1.12, 1.0, 1.0]
        .iter()
        .enumerate()
        .map(|(k, &f)| process(f, if k == 3 { "mismatch at 7" } else { "ok" }))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t = timings_from_runs(&refs).unwrap();
    assert_eq!(t.error, None);
    assert_eq!(t.machine["processes"], 5);
    let ids: Vec<String> = t
        .cells
        .iter()
        .map(|c| format!("{}/{}", c.op, c.shape[0]))
        .collect();
    assert_eq!(
        ids,
        ["sum/512", "add/512"],
        "one cell per id, in first-seen order"
    );
    let add = &t.cells[1];
    assert_eq!(
        (add.old_vs_new.rounds, add.old_vs_new.processes),
        (5 * 40, 5)
    );
    assert_eq!(
        add.old_vs_new.verdict,
        Verdict::NoDifference,
        "{:?}",
        add.old_vs_new
    );
    assert_eq!(
        add.check_old, "mismatch at 7",
        "a failed check in any process is kept"
    );
    // A runner process that failed is named.
    let mut broken = texts.clone();
    broken[1] = broken[1].replace(r#"{"type": "done"}"#, "");
    let refs: Vec<&str> = broken.iter().map(String::as_str).collect();
    let e = timings_from_runs(&refs).unwrap().error.unwrap();
    assert!(e.starts_with("runner process 2 of 5:"), "{e}");
}
