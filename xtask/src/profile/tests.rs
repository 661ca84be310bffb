//! The profile's plan for both host architectures, the atomic swap, and the report rendered from a
//! recorded run (`tests/fixtures/report_input.json`, a `report.json` of `--quick`) with the timings
//! of a recorded full run (`tests/fixtures/timings.json`, per-round samples cut).

use std::fs;

use anyhow::bail;
use raptors_bench::model::Results;
use raptors_bench::summary::summarize;

use super::artifacts::publish_atomically;
use super::inputs::wheel_platforms;
use super::pipeline::artifact_names;
use super::report::{findings, findings_md, hot_loops_md, readme, ReportInput};
use super::{ArchSel, DtypeSel, Plan, ProfileArgs};
use crate::cross::Arch;

fn args(arch: ArchSel) -> ProfileArgs {
    ProfileArgs {
        quick: true,
        ops: None,
        dtype: DtypeSel::F32,
        arch,
        container: false,
        base_image: None,
        out_dir: None,
    }
}

#[test]
fn the_measured_side_is_the_hosts_on_either_host() {
    for host in [Arch::X86_64, Arch::Aarch64] {
        let all = Plan::new(&args(ArchSel::All), host).unwrap();
        assert_eq!(all.archs, [host, host.other()]);
        assert_eq!(all.static_arch(), Some(host.other()));
        assert_eq!(all.command, "cargo xtask profile --quick --dtype f32");
        let x86 = Plan::new(&args(ArchSel::X86_64), host).unwrap();
        assert_eq!(
            x86.static_arch(),
            (host == Arch::Aarch64).then_some(Arch::X86_64)
        );
        assert!(x86.command.ends_with("--arch x86_64"));
        assert!(wheel_platforms(host.other())
            .iter()
            .all(|p| p.ends_with(host.other().name())));
        // Artifact names stay per architecture: on an aarch64 host the NEON files come from the
        // measured side and the x86-64 ones from the static side; together always the full set.
        let (measured, analysed) = (artifact_names(all.host), artifact_names(all.archs[1]));
        let neon = if host == Arch::Aarch64 {
            &measured
        } else {
            &analysed
        };
        assert!(neon.contains(&"raptors_neon.json") && !neon.contains(&"numpy_asm.txt"));
        let mut every: Vec<_> = measured.into_iter().chain(analysed).collect();
        every.sort();
        assert_eq!(every.len(), 10);
        every.dedup();
        assert_eq!(every.len(), 10);
    }
    let mut bad = args(ArchSel::All);
    bad.ops = Some("sum,nope".into());
    assert!(
        format!("{:#}", Plan::new(&bad, Arch::X86_64).unwrap_err()).contains("unknown op \"nope\"")
    );
}

#[test]
fn the_folder_is_swapped_in_only_when_the_build_succeeds() {
    let base = std::env::temp_dir().join(format!("xtask-publish-{}", std::process::id()));
    let dest = base.join("profiles");
    fs::create_dir_all(&dest).unwrap();
    fs::write(dest.join("README.md"), "old").unwrap();
    let err = publish_atomically(&dest, |tmp| -> anyhow::Result<()> {
        fs::write(tmp.join("README.md"), "half")?;
        bail!("step exploded")
    });
    assert!(format!("{:#}", err.unwrap_err()).contains("step exploded"));
    let panicked = publish_atomically(&dest, |_| -> anyhow::Result<()> { panic!("boom") });
    assert!(format!("{:#}", panicked.unwrap_err()).contains("boom"));
    assert_eq!(fs::read_to_string(dest.join("README.md")).unwrap(), "old");
    publish_atomically(&dest, |tmp| Ok(fs::write(tmp.join("README.md"), "new")?)).unwrap();
    assert_eq!(fs::read_to_string(dest.join("README.md")).unwrap(), "new");
    let left: Vec<_> = fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["profiles"], "temp and old folders are removed");
    fs::remove_dir_all(base).unwrap();
}

fn results() -> Results {
    serde_json::from_str(include_str!("../../tests/fixtures/timings.json"))
        .expect("timings fixture")
}

fn fixture() -> ReportInput {
    let mut input: ReportInput =
        serde_json::from_str(include_str!("../../tests/fixtures/report_input.json"))
            .expect("report fixture");
    input.timings = Ok(results());
    input
}

/// Timings, addresses, sizes and hashes vary run to run; the snapshots pin the structure.
fn redact(text: &str) -> String {
    let rules = [
        (r"\b[0-9a-f]{40,64}\b", "[hash]"),
        (r"0x[0-9a-f]+", "[addr]"),
        (r"\d+\.\d+( ?(ms|µs|ns|s|x)\b)?", "[num]"),
        (r"\d+ × \d+/\d+", "[rounds]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[date]"),
    ];
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
        raptors_bench::report::markdown(&r),
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
    assert!(scale.ci_low > 1.0 && scale.verdict == raptors_bench::stats::Verdict::NoDifference);
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
    input.steps[3].outcome = crate::steps::Outcome::Failed;
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
    env.emulation = raptors_bench::machine::emulation_in(
        "aarch64",
        "vendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n",
        None,
    );
    for f in &mut input.functions {
        if let Ok(p) = &mut f.archs[0].real.raptors {
            p.how = super::functions::How::Pattern;
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
    use super::functions::{measured, How, Measured, EMULATED};
    let lib = super::inputs::Lib::open(std::env::current_exe().unwrap()).unwrap();
    let m = Measured {
        lib: &lib,
        callgrind: Err("valgrind cannot run under qemu-user emulation".into()),
        samples: Err(EMULATED.into()),
        patterns: (Vec::new(), vec![r"profile::functions::measured$".into()]),
        level: None,
    };
    let (valgrind, real) = measured(&m);
    assert!(valgrind.is_err());
    let real = real.unwrap();
    assert_eq!(
        (real.how, real.function.as_str()),
        (How::Pattern, "xtask::profile::functions::measured")
    );
    assert!(real.evidence.contains(EMULATED), "{}", real.evidence);
}
