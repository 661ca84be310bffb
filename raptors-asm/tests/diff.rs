//! Normalised function/loop diff on fixture ELFs (`tests/fixtures/diff_{x86,a64}.s` assembled
//! in variants): a layout-only change gives an empty diff, a real instruction change exactly
//! that line (insta snapshot of the text), and the error cases.

mod common;

use common::{bin, build_variant, open, Fixture, Fx};
use raptors_asm::compare;
use raptors_asm::diff::{self, FunctionDiff, Scope};

fn run_diff(a: &Fixture, b: &Fixture, scope: Scope) -> FunctionDiff {
    run_diff_scopes(a, b, scope, scope)
}

fn run_diff_scopes(a: &Fixture, b: &Fixture, sa: Scope, sb: Scope) -> FunctionDiff {
    let (ea, ta) = open(&a.shared);
    let (eb, tb) = open(&b.shared);
    let fa = compare::one_function(&ea, &ta, "kernel").unwrap();
    let fb = compare::one_function(&eb, &tb, "kernel").unwrap();
    diff::diff_functions((&ea, &ta, fa), (&eb, &tb, fb), sa, sb).unwrap()
}

/// The unified text with the temp paths and the linker's addresses replaced.
fn redact(d: &FunctionDiff, a: &Fixture, b: &Fixture) -> String {
    let text = d
        .unified
        .replace(&a.shared.display().to_string(), "[A]")
        .replace(&b.shared.display().to_string(), "[B]");
    regex::Regex::new(r"@0x[0-9a-f]+")
        .unwrap()
        .replace_all(&text, "@[ADDR]")
        .into_owned()
}

fn check(fx: Fx, name: &str) {
    let base = build_variant(fx, "diff", &[]);
    let shifted = build_variant(fx, "diff", &["SHIFTED"]);
    let changed = build_variant(fx, "diff", &["CHANGED", "SHIFTED"]);
    {
        // The layout really moved: the function starts elsewhere.
        let (ea, ta) = open(&base.shared);
        let (eb, tb) = open(&shifted.shared);
        let a = compare::one_function(&ea, &ta, "kernel").unwrap().address;
        let b = compare::one_function(&eb, &tb, "kernel").unwrap().address;
        assert_ne!(a, b);
    }
    for scope in [Scope::Function, Scope::Loop(None)] {
        let d = run_diff(&base, &shifted, scope);
        assert!(
            d.identical,
            "{name} {scope:?}: layout only, yet\n{}",
            d.unified
        );
        assert_eq!((d.added, d.removed, d.hunks.len()), (0, 0, 0));
        assert!(d.unified.is_empty());
    }
    let d = run_diff(&base, &changed, Scope::Function);
    assert!(!d.identical);
    assert_eq!(
        (d.removed, d.added, d.hunks.len()),
        (1, 1, 1),
        "{}",
        d.unified
    );
    insta::assert_snapshot!(format!("diff_{name}_function"), redact(&d, &base, &changed));
    let l = run_diff(&base, &changed, Scope::Loop(None));
    assert_eq!((l.removed, l.added), (1, 1), "{}", l.unified);
    assert!(
        l.a.end - l.a.start < d.a.end - d.a.start,
        "the loop is a part of the function"
    );
    insta::assert_snapshot!(format!("diff_{name}_loop"), redact(&l, &base, &changed));
    // Each side's loop named by an address inside it (a profile's chosen loop): the same diff,
    // also when the two builds place the loop at different addresses.
    let at = |d: &FunctionDiff| {
        (
            Scope::Loop(Some(d.a.start + 1)),
            Scope::Loop(Some(d.b.start)),
        )
    };
    let (sa, sb) = at(&l);
    let by_address = run_diff_scopes(&base, &changed, sa, sb);
    assert_eq!(by_address.unified, l.unified);
    let moved = run_diff(&base, &shifted, Scope::Loop(None));
    assert_ne!(moved.a.start, moved.b.start, "the loop moved");
    let (sa, sb) = at(&moved);
    assert!(run_diff_scopes(&base, &shifted, sa, sb).identical);
    // The normalised listing names the call target and hides addresses/displacements.
    let (e, t) = open(&changed.shared);
    let f = compare::one_function(&e, &t, "kernel").unwrap();
    let listing = diff::normalised_listing(&e, &t, f, f.address, f.end).join("\n");
    assert!(listing.contains("<helper>"), "{listing}");
    insta::assert_snapshot!(format!("diff_{name}_listing"), listing);
}

#[test]
fn x86_layout_is_ignored_and_changes_show() {
    check(Fx::X86, "x86");
}

#[test]
fn aarch64_layout_is_ignored_and_changes_show() {
    check(Fx::A64, "a64");
}

#[test]
fn different_architectures_are_an_error() {
    let x = build_variant(Fx::X86, "diff", &[]);
    let a = build_variant(Fx::A64, "diff", &[]);
    let (ea, ta) = open(&x.shared);
    let (eb, tb) = open(&a.shared);
    let fa = compare::one_function(&ea, &ta, "kernel").unwrap();
    let fb = compare::one_function(&eb, &tb, "kernel").unwrap();
    let e = diff::diff_functions(
        (&ea, &ta, fa),
        (&eb, &tb, fb),
        Scope::Function,
        Scope::Function,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("needs one architecture"), "{e}");
    assert!(
        e.contains("Aarch64"),
        "the other architecture is named: {e}"
    );
}

#[test]
fn cli_diff_text_json_and_errors() {
    let a = build_variant(Fx::X86, "diff", &[]);
    let b = build_variant(Fx::X86, "diff", &["CHANGED"]);
    let (pa, pb) = (a.shared.to_str().unwrap(), b.shared.to_str().unwrap());
    let o = bin()
        .args([
            "diff",
            pa,
            pb,
            "--symbol-a",
            "kernel",
            "--symbol-b",
            "kernel",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["identical"], false);
    assert_eq!(j["hunks"].as_array().unwrap().len(), 1);
    let h = &j["hunks"][0];
    for k in ["old_start", "old_lines", "new_start", "new_lines", "lines"] {
        assert!(h.get(k).is_some(), "hunk field {k}");
    }
    assert!(h["lines"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["op"] == "+" && l["text"].as_str().unwrap().contains("vmulps")));

    let o = bin()
        .args([
            "diff",
            pa,
            pa,
            "--symbol-a",
            "kernel",
            "--symbol-b",
            "kernel",
            "--loop",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("no instruction changes"));

    // A symbol missing in one file: exit 1, the message names that file.
    let o = bin()
        .args([
            "diff",
            pa,
            pb,
            "--symbol-a",
            "kernel",
            "--symbol-b",
            "no_such_fn",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(pb) && err.contains("no function matches"),
        "{err}"
    );
}
