//! The report rendered from a recorded run (`tests/data/evidence/report_input.json`, a
//! `report.json` of `--quick`) with the timings of a recorded full run
//! (`tests/data/evidence/timings.json`, per-round samples cut), and the static choice under
//! emulation.

use super::picks::{ExecutedLoop, How, EMULATED};
use super::{findings, findings_md, hot_loops_md, readme, ReportInput};
use crate::model::Results;
use crate::summary::summarize;

fn results() -> Results {
    serde_json::from_str(include_str!("../../tests/data/evidence/timings.json"))
        .expect("timings fixture")
}

fn fixture() -> ReportInput {
    let mut input: ReportInput =
        serde_json::from_str(include_str!("../../tests/data/evidence/report_input.json"))
            .expect("report fixture");
    input.timings = Ok(results());
    input
}

/// Timings, addresses, sizes and hashes vary run to run; the snapshots pin the structure.
fn redact(text: &str) -> String {
    redact_with(
        text,
        &[
            (r"\b[0-9a-f]{40,64}\b", "[hash]"),
            (r"0x[0-9a-f]+", "[addr]"),
            (r"\d+\.\d+( ?(ms|µs|ns|s|x)\b)?", "[num]"),
            (r"\d+ × \d+/\d+", "[rounds]"),
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[date]"),
        ],
    )
}

/// Applies `(regex, replacement)` rules in order (the snapshot tests' redaction).
pub(super) fn redact_with(text: &str, rules: &[(&str, &str)]) -> String {
    rules.iter().fold(text.to_string(), |t, (re, with)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}

#[test]
fn report_structure_snapshots() {
    let input = fixture();
    insta::assert_snapshot!("readme", redact(&readme(&input)));
    insta::assert_snapshot!("hot_loops", redact(&hot_loops_md(&input)));
}

/// README, timings.md and findings show, for every cell, the verdict raptors-bench stored.
#[test]
fn every_artifact_shows_the_stored_verdict_of_every_cell() {
    let (r, input) = (results(), fixture());
    let summary = summarize(&r);
    let (readme, timings_md, findings) = (
        readme(&input),
        crate::report::markdown(&r),
        findings(&input),
    );
    let verdict_in = |text: &str, key: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no row {key:?}"));
        // The verdict column, found by its header (the table gains columns over time).
        let column = text
            .lines()
            .find(|l| l.starts_with("| cell |"))
            .and_then(|h| h.split('|').position(|c| c.trim() == "verdict"))
            .unwrap_or_else(|| panic!("no timings table header with a verdict column"));
        line.split('|').nth(column).unwrap_or("").trim().to_string()
    };
    for c in &summary.cells {
        let size = c
            .shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x");
        let key = format!(
            "| {} {} {} | {} | {} |",
            c.op,
            c.dtype,
            size.replace('x', "×"),
            c.level,
            c.regime
        );
        let want = c.verdict.describe("Raptors", "NumPy");
        assert_eq!(verdict_in(&readme, &key), want, "README {}", c.id);
        assert_eq!(verdict_in(&timings_md, &key), want, "timings.md {}", c.id);
        let line = findings
            .iter()
            .find(|f| f.starts_with(&format!("**{} {}**", c.op, c.dtype)));
        if let Some(l) =
            line.filter(|l| l.contains(&format!("measured at {size}:")) && c.level == "auto")
        {
            assert!(l.contains(&format!("— {want}.")), "findings {}: {l}", c.id);
        }
    }
    let n = &summary.counts;
    let counted = format!(
        "faster in {} of {} cells, NumPy in {}, no significant difference in {}",
        n.faster,
        n.total(),
        n.slower,
        n.no_difference
    );
    assert!(findings[0].contains(&counted), "{}", findings[0]);
    // The cell whose 95 % interval alone says "faster" but whose stored verdict does not.
    let scale = summary.cell("scale", "f32", &[2048, 2048], "auto").unwrap();
    assert!(scale.ci_low > 1.0 && scale.verdict == crate::stats::Verdict::NoDifference);
    let line = findings
        .iter()
        .find(|f| f.starts_with("**scale f32**"))
        .unwrap();
    assert!(
        line.contains("2048x2048") && line.contains("— no significant difference."),
        "{line}"
    );
}

#[test]
fn failed_steps_and_missing_parts_are_explained_not_zero() {
    let mut input = fixture();
    input.steps[3].outcome = super::record::Outcome::Failed;
    input.steps[3].reason = "pip download failed: network down".into();
    input.timings = Err("raptors-bench compare failed: no Python".into());
    input.counters = Err("raptors-bench counters not run".into());
    let text = readme(&input);
    assert!(text.contains("| **FAILED** |") && text.contains("pip download failed: network down"));
    assert!(
        text.contains("No timings: raptors-bench compare failed")
            && text.contains("Counters were not collected")
    );
    assert!(text.contains("Timing: not measured at 2048² in this run"));
    assert!(findings_md(&input).contains("## Steps that failed in that run"));
}

#[test]
fn an_emulated_run_says_so_everywhere() {
    let mut input = fixture();
    let env = input.environment.as_mut().unwrap();
    env.emulation = crate::machine::emulation_in(
        "aarch64",
        "vendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n",
        None,
    );
    for f in &mut input.functions {
        if let Ok(p) = &mut f.archs[0].real.raptors {
            p.how = How::Pattern;
            p.evidence =
                "matched /x/; chosen statically: no execution profile under emulation".into();
        }
    }
    let text = readme(&input);
    let status = &text[text.find("## Status").unwrap()..text.find("## Speedup").unwrap()];
    assert!(status
        .contains("**Under qemu-user emulation: aarch64 under qemu-user emulation on AMD EPYC.**"));
    assert!(
        text.contains("not this CPU's speed")
            && text.contains("- CPU: aarch64 under qemu-user emulation on AMD EPYC")
    );
    let rows = text.lines().filter(|l| {
        l.starts_with(&format!("| {} |", input.functions[0].op)) && l.contains("chosen statically")
    });
    assert!(rows.count() > 0);
    assert!(findings(&input)[0].contains("under qemu-user emulation"));
}

/// Under emulation neither valgrind nor perf runs: the real-run function comes from the op
/// table's patterns, and its evidence carries the reason the report prints on every row.
#[test]
fn under_emulation_the_measured_choice_is_static_and_says_why() {
    use super::choice::{measured, Measured};
    let lib = raptors_asm::Library::open(std::env::current_exe().unwrap()).unwrap();
    let m = Measured {
        lib: &lib,
        callgrind: Err("valgrind cannot run under qemu-user emulation".into()),
        samples: Err(EMULATED.into()),
        patterns: (Vec::new(), vec![r"evidence::choice::measured$".into()]),
        level: None,
    };
    let (valgrind, real) = measured(&m);
    assert!(valgrind.is_err());
    let real = real.unwrap();
    assert_eq!(
        (real.how, real.function.as_str()),
        (How::Pattern, "raptors_bench::evidence::choice::measured")
    );
    assert!(real.evidence.contains(EMULATED), "{}", real.evidence);
}

/// The loops-by-execution section shows every row with its figures and its check, failed or not.
#[test]
fn executed_loops_rows_show_figures_and_the_check() {
    let mut input = fixture();
    let row = |library: &str, check: &str, passed| ExecutedLoop {
        op: "add".into(),
        dtype: "f32".into(),
        arch: "x86_64".into(),
        library: library.into(),
        function: "FLOAT_add_X86_V3".into(),
        function_address: Some(0x515500),
        chosen_by: "callgrind".into(),
        loop_start: Some(0x515540),
        coverage: Some(0.999),
        instructions_per_element: Some(0.625),
        measured_instructions_per_element: Some(0.625),
        function_instructions_per_element: Some(0.6251),
        check: check.into(),
        passed,
    };
    input.executed_loops = vec![
        row(
            "NumPy",
            "ok: static 0.625 ≤ function 0.625 per element",
            Some(true),
        ),
        row(
            "Raptors",
            "FAILED: static 0.900 per element exceeds",
            Some(false),
        ),
    ];
    let md = readme(&input);
    assert!(md.contains("| add | f32 | x86_64 | NumPy | callgrind | `FLOAT_add_X86_V3` | 0x515540 | 99.9 % | 0.625 | 0.625 | 0.625 | ok:"), "{md}");
    assert!(
        md.contains(
            "| Raptors | callgrind | `FLOAT_add_X86_V3` | 0x515540 | 99.9 % | 0.625 | 0.625 | 0.625 | FAILED:"
        ),
        "{md}"
    );
    assert!(!md.contains("No loop was chosen by execution"));
}

/// Rows counted under qemu replace the emulated architecture's static picks (function, hot loop
/// address, how) and the README says that architecture was counted, not only analysed.
#[test]
fn emulated_rows_replace_static_picks() {
    use super::loops::apply_emulated;
    use super::picks::How;
    let mut input = fixture();
    let (op, dtype) = (
        input.functions[0].op.clone(),
        input.functions[0].dtype.clone(),
    );
    let row = ExecutedLoop {
        op: op.clone(),
        dtype: dtype.clone(),
        arch: "aarch64".into(),
        library: "NumPy".into(),
        function: "FLOAT_pairwise_sum".into(),
        function_address: Some(0x2f9a04),
        chosen_by: "qemu-exec".into(),
        loop_start: Some(0x2f9bc4),
        coverage: Some(0.421),
        instructions_per_element: Some(2.625),
        measured_instructions_per_element: Some(1.23),
        function_instructions_per_element: Some(2.922),
        check: "ok".into(),
        passed: Some(true),
    };
    let static_raptors = input.functions[0]
        .archs
        .iter()
        .find(|a| a.arch == "aarch64")
        .map(|a| a.real.raptors.clone());
    apply_emulated(&mut input.functions, std::slice::from_ref(&row));
    let a = input.functions[0]
        .archs
        .iter()
        .find(|a| a.arch == "aarch64")
        .unwrap();
    let p = a.real.numpy.as_ref().unwrap();
    assert_eq!(
        (p.address, p.how, p.hot_address),
        (0x2f9a04, How::QemuExec, Some(0x2f9bc4))
    );
    assert!(p.evidence.contains("42.1 %"), "{}", p.evidence);
    assert_eq!(
        Some(a.real.raptors.clone()),
        static_raptors,
        "an uncounted side keeps its pick"
    );
    input.executed_loops = vec![row];
    let md = readme(&input);
    assert!(
        md.contains("aarch64 **analysed statically and counted under qemu-user**"),
        "{md}"
    );
}

/// A self-check that missed is named in the findings with its figures; passing ones are not.
#[test]
fn a_failed_self_check_is_a_finding() {
    let mut input = fixture();
    assert!(
        !findings(&input).iter().any(|f| f.contains("Self-check")),
        "the fixture's self-checks pass"
    );
    let Ok(r) = &mut input.timings else {
        panic!("fixture has timings")
    };
    let failed = r.aa_check.first_mut().expect("fixture has self-checks");
    failed.pass = false;
    failed.verdict = crate::stats::Verdict::Slower;
    failed.speedup = 0.9466;
    let id = failed.id.clone();
    let said: Vec<String> = findings(&input)
        .into_iter()
        .filter(|f| f.contains("Self-check"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains(&format!("`{id}` failed")) && said[0].contains("0.9466x"),
        "{}",
        said[0]
    );
}
