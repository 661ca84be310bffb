//! Cross-check against GNU objdump on real system libraries: every instruction address and
//! mnemonic in `.text` must agree, and per-function backward-branch counts must be identical.
//! Allowed difference (documented in README): AArch64 words yaxpeax-arm 0.5 cannot decode, which
//! must lie in the SVE encoding space and are printed as `.inst … // undecoded (likely SVE)`.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{require_file, run, Fx};
use raptors_asm::{arm64, disasm, loops, simd, Arch};

/// `addr -> text` of objdump's `.text` listing (`--no-show-raw-insn`, `-z`: no `...` elision).
fn objdump_text(tool: &str, file: &str, extra: &[&str]) -> BTreeMap<u64, String> {
    let out = run(Command::new(tool)
        .args(["-d", "-z", "--no-show-raw-insn", "-j", ".text"])
        .args(extra)
        .arg(file));
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let Some((addr, text)) = line.split_once(":\t") else {
            continue;
        };
        let Ok(a) = u64::from_str_radix(addr.trim(), 16) else {
            continue;
        };
        m.insert(a, text.to_string());
    }
    m
}

/// The mnemonic field: prefix words + mnemonic, up to the first operand.
fn mnemonic(text: &str) -> String {
    let mut v: Vec<&str> = Vec::new();
    for tok in text.split_whitespace() {
        let operand = tok.starts_with(['%', '$', '*', '(', '-', '#', '{', '['])
            || tok.starts_with(|c: char| c.is_ascii_digit())
            || tok.contains(',')
            || tok.starts_with("//");
        if operand || v.last().is_some_and(|w| !is_x86_prefix_word(w)) {
            break;
        }
        v.push(tok);
    }
    v.join(" ")
}

fn is_x86_prefix_word(w: &str) -> bool {
    matches!(
        w,
        "data16"
            | "data32"
            | "addr32"
            | "cs"
            | "ds"
            | "es"
            | "ss"
            | "fs"
            | "gs"
            | "rep"
            | "repz"
            | "repe"
            | "repnz"
            | "repne"
            | "lock"
            | "bnd"
            | "notrack"
            | "xacquire"
            | "xrelease"
            | "rex"
            | "rex.W"
    ) || w.starts_with("rex.")
}

struct Listing {
    ours: BTreeMap<u64, String>,
    theirs: BTreeMap<u64, String>,
}

type Listed = (raptors_asm::ElfFile, raptors_asm::SymbolTable, Listing);

/// Our listing and objdump's of `fx`'s system library.
fn listing(fx: Fx) -> Listed {
    listing_with(fx, Default::default(), &[])
}

fn listing_with(fx: Fx, opts: disasm::TextOptions, extra: &[&str]) -> Listed {
    let tool = fx.tool("objdump");
    let (file, library_package) = fx.system_library();
    require_file(file, library_package);
    let (elf, table) = raptors_asm::open(file).expect("open system library");
    let text = elf.section_by_name(".text").expect(".text").clone();
    let ours: BTreeMap<u64, String> = disasm::section_listing_with(&elf, &table, &text, opts)
        .into_iter()
        .collect();
    let theirs = objdump_text(&tool, file, extra);
    (elf, table, Listing { ours, theirs })
}

/// Returns the number of allowed (SVE) differences; panics on any other disagreement.
fn compare(l: &Listing, arch: Arch) -> usize {
    let only_ours: Vec<_> = l
        .ours
        .keys()
        .filter(|a| !l.theirs.contains_key(a))
        .take(10)
        .collect();
    let only_theirs: Vec<_> = l
        .theirs
        .keys()
        .filter(|a| !l.ours.contains_key(a))
        .take(10)
        .collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "instruction boundaries differ: only ours {only_ours:x?}, only objdump {only_theirs:x?}"
    );
    let mut sve = 0;
    let mut bad = Vec::new();
    for (a, ours) in &l.ours {
        let theirs = &l.theirs[a];
        let (m1, m2) = (mnemonic(ours), mnemonic(theirs));
        if m1 == m2 {
            continue;
        }
        if arch == Arch::Aarch64 && ours.contains(arm64::UNDECODED) {
            let word = ours
                .split_whitespace()
                .nth(1)
                .and_then(|w| u32::from_str_radix(w.trim_start_matches("0x"), 16).ok());
            assert!(
                word.is_some_and(arm64::is_sve_space),
                "{a:#x}: undecoded word outside the SVE encoding space: {ours:?} vs objdump {theirs:?}"
            );
            sve += 1;
            continue;
        }
        bad.push(format!("{a:#x}: ours {ours:?} objdump {theirs:?}"));
    }
    assert!(
        bad.is_empty(),
        "{} mnemonic differences, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(20)]
    );
    sve
}

/// Backward direct jumps per function, derived from objdump's text.
fn objdump_backward(theirs: &BTreeMap<u64, String>, arch: Arch, lo: u64, hi: u64) -> u64 {
    let mut n = 0;
    for (&a, text) in theirs.range(lo..hi) {
        let m = mnemonic(text);
        let last = m.split(' ').next_back().unwrap_or("");
        let is_jump = match arch {
            Arch::X86_64 => {
                last.starts_with('j') || matches!(last, "loop" | "loope" | "loopne" | "jrcxz")
            }
            Arch::Aarch64 => {
                matches!(last, "b" | "cbz" | "cbnz" | "tbz" | "tbnz")
                    || last.starts_with("b.")
                    || last.starts_with("bc.")
            }
        };
        if !is_jump {
            continue;
        }
        let ops = text[text.find(last).unwrap() + last.len()..].trim();
        let target = ops
            .split(" <")
            .next()
            .unwrap_or("")
            .rsplit(", ")
            .next()
            .unwrap_or("");
        if let Ok(t) = u64::from_str_radix(target.trim(), 16) {
            n += (t <= a) as u64;
        }
    }
    n
}

fn check_backward(
    elf: &raptors_asm::ElfFile,
    table: &raptors_asm::SymbolTable,
    l: &Listing,
) -> (usize, u64) {
    let mut insns = Vec::new();
    let (mut funcs, mut total) = (0, 0);
    for f in table.functions.iter().filter(|f| f.section == ".text") {
        simd::function_insns(elf, f, &mut insns);
        let ours = loops::backward_branches(&insns);
        let theirs = objdump_backward(&l.theirs, elf.arch, f.address, f.end);
        assert_eq!(
            ours, theirs,
            "backward branches in {} at {:#x}",
            f.name, f.address
        );
        funcs += 1;
        total += ours;
    }
    (funcs, total)
}

#[test]
fn x86_libm_matches_objdump() {
    let (elf, table, l) = listing(Fx::X86);
    assert!(
        l.ours.len() > 50_000,
        "libm .text unexpectedly small: {}",
        l.ours.len()
    );
    assert_eq!(compare(&l, Arch::X86_64), 0);
    let (funcs, total) = check_backward(&elf, &table, &l);
    assert!(
        funcs > 300 && total > 500,
        "too few functions/backward branches checked: {funcs}/{total}"
    );
}

#[test]
fn x86_libm_intel_syntax_matches_objdump() {
    let opts = disasm::TextOptions {
        syntax: raptors_asm::x86::Syntax::Intel,
    };
    let (_, _, l) = listing_with(Fx::X86, opts, &["-M", "intel"]);
    assert!(l.ours.len() > 50_000);
    assert_eq!(compare(&l, Arch::X86_64), 0);
}

#[test]
fn aarch64_libc_matches_objdump() {
    let (elf, table, l) = listing(Fx::A64);
    assert!(
        l.ours.len() > 100_000,
        "libc .text unexpectedly small: {}",
        l.ours.len()
    );
    let sve = compare(&l, Arch::Aarch64);
    // glibc's aarch64 build carries SVE string routines; they must be reported, not dropped.
    assert!(sve > 0, "expected some SVE words in glibc");
    let undecoded: u64 = raptors_asm::simd::simd_report(
        &elf,
        &table
            .functions
            .iter()
            .filter(|f| f.section == ".text")
            .collect::<Vec<_>>(),
    )
    .total
    .undecoded;
    assert!(
        undecoded as usize >= sve,
        "simd counts {undecoded} undecoded, listing shows {sve}"
    );
    let (funcs, total) = check_backward(&elf, &table, &l);
    assert!(
        funcs > 1000 && total > 1000,
        "too few functions/backward branches checked: {funcs}/{total}"
    );
}
