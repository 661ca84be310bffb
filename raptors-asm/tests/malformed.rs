//! Malformed-input corpus: not-an-ELF, truncation at every offset, corrupted header and
//! section-table fields, wrong class/endianness/machine, and byte mutations of every byte of
//! small real ELF files. The whole pipeline (parse, symbols, disasm, simd, loops) must return
//! Ok or an error naming the file and the reason — never panic. (The cargo-fuzz target in
//! `fuzz/` explores the same surface with arbitrary bytes; it needs nightly, so CI runs this.)

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{build_fixture, Fx};
use raptors_asm::{disasm, loops, simd, ElfFile, SymbolTable};

const NAME: &str = "corpus/input.so";

/// (what, how to corrupt, expected words in the error)
type Case = (&'static str, Box<dyn Fn(&mut Vec<u8>)>, &'static str);

fn pipeline(bytes: Vec<u8>) -> Result<(), String> {
    let elf = ElfFile::from_bytes(NAME, bytes).map_err(|e| e.to_string())?;
    let t = SymbolTable::read(&elf);
    let funcs: Vec<_> = t.functions.iter().collect();
    let mut sink = Vec::new();
    disasm::disassemble_all(&elf, &t, Default::default(), &mut sink).expect("writing to a Vec");
    simd::simd_report(&elf, &funcs);
    loops::loops_report(&elf, &t, &funcs);
    Ok(())
}

/// Runs the pipeline; a panic fails the test with the case label.
fn no_panic(label: &str, bytes: Vec<u8>) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| pipeline(bytes))) {
        Ok(r) => {
            if let Err(e) = &r {
                assert!(
                    e.starts_with(NAME),
                    "{label}: error does not name the file: {e}"
                );
                assert!(
                    e.len() > NAME.len() + 10,
                    "{label}: error without a reason: {e}"
                );
            }
            r
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{label}: pipeline panicked: {msg}");
        }
    }
}

fn expect_err(label: &str, bytes: Vec<u8>, needle: &str) {
    let e = no_panic(label, bytes).expect_err(label);
    assert!(e.contains(needle), "{label}: expected {needle:?} in {e:?}");
}

fn fixtures() -> Vec<(Fx, Vec<u8>)> {
    [Fx::X86, Fx::A64]
        .into_iter()
        .map(|fx| {
            let f = build_fixture(fx);
            (fx, std::fs::read(&f.shared).expect("read fixture"))
        })
        .collect()
}

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn get_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

#[test]
fn not_an_elf() {
    expect_err("empty", Vec::new(), "not an ELF");
    expect_err("text", b"hello, world\n".to_vec(), "not an ELF");
    expect_err(
        "png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
        "not an ELF",
    );
    expect_err("3 magic bytes", b"\x7fEL".to_vec(), "not an ELF");
    expect_err(
        "magic only",
        b"\x7fELF".to_vec(),
        "shorter than the 64-byte ELF64 header",
    );
    let mut pe = vec![0u8; 512];
    pe[..2].copy_from_slice(b"MZ");
    expect_err("PE", pe, "not an ELF");
}

#[test]
fn wrong_class_endianness_machine() {
    for (fx, orig) in fixtures() {
        let l = format!("{fx:?}");
        let mut b = orig.clone();
        b[4] = 1;
        expect_err(&l, b, "32-bit ELF");
        let mut b = orig.clone();
        b[4] = 7;
        expect_err(&l, b, "invalid EI_CLASS 7");
        let mut b = orig.clone();
        b[5] = 2;
        expect_err(&l, b, "big-endian");
        let mut b = orig.clone();
        b[5] = 0;
        expect_err(&l, b, "invalid EI_DATA");
        let mut b = orig.clone();
        put_u16(&mut b, 18, 40);
        expect_err(&l, b, "machine 40 (ARM (32-bit))");
        let mut b = orig.clone();
        put_u16(&mut b, 18, 243);
        expect_err(&l, b, "machine 243 (RISC-V)");
    }
}

#[test]
fn corrupted_header_and_section_table() {
    for (fx, orig) in fixtures() {
        let l = format!("{fx:?}");
        let len = orig.len() as u64;
        let shoff = get_u64(&orig, 0x28) as usize;
        let shnum = get_u16(&orig, 0x3c) as usize;
        let shstrndx = get_u16(&orig, 0x3e) as usize;
        let cases: Vec<Case> = vec![
            (
                "e_shoff past end",
                Box::new(move |b| put_u64(b, 0x28, len)),
                "section header table",
            ),
            (
                "e_shoff overflow",
                Box::new(|b| put_u64(b, 0x28, u64::MAX - 8)),
                "section header table",
            ),
            (
                "e_shoff zero",
                Box::new(|b| put_u64(b, 0x28, 0)),
                "no section header table",
            ),
            (
                "e_shnum huge",
                Box::new(|b| put_u16(b, 0x3c, 0xffff)),
                "section header table",
            ),
            (
                "e_shnum zero",
                Box::new(|b| put_u16(b, 0x3c, 0)),
                "no section header table",
            ),
            (
                "e_shentsize",
                Box::new(|b| put_u16(b, 0x3a, 0x10)),
                "e_shentsize is 16",
            ),
            (
                "e_shstrndx",
                Box::new(move |b| put_u16(b, 0x3e, shnum as u16 + 5)),
                "e_shstrndx",
            ),
            (
                "e_phoff past end",
                Box::new(move |b| put_u64(b, 0x20, len - 8)),
                "program header table",
            ),
            (
                "e_phentsize",
                Box::new(|b| put_u16(b, 0x36, 3)),
                "e_phentsize",
            ),
            (
                "shstrtab offset past end",
                Box::new(move |b| put_u64(b, shoff + shstrndx * 64 + 0x18, len + 100)),
                "extends past end of file",
            ),
            (
                "shstrtab size huge",
                Box::new(move |b| put_u64(b, shoff + shstrndx * 64 + 0x20, u64::MAX)),
                "extends past end of file",
            ),
            (
                "sh_name outside strtab",
                Box::new(move |b| put_u32(b, shoff + 64, 0x00ff_ffff)),
                "outside the section-name string table",
            ),
        ];
        for (what, f, needle) in cases {
            let mut b = orig.clone();
            f(&mut b);
            expect_err(&format!("{l} {what}"), b, needle);
        }
        // Every section's offset and size pushed past the end of the file.
        for i in 1..shnum {
            let h = shoff + i * 64;
            if u32::from_le_bytes(orig[h + 4..h + 8].try_into().unwrap()) == 8 {
                continue; // SHT_NOBITS occupies no file bytes
            }
            let mut b = orig.clone();
            put_u64(&mut b, h + 0x18, 0xffff_ffff_0000);
            expect_err(
                &format!("{l} section {i} offset"),
                b,
                &format!("section {i}"),
            );
            let mut b = orig.clone();
            put_u64(&mut b, h + 0x20, u64::MAX);
            expect_err(&format!("{l} section {i} size"), b, &format!("section {i}"));
        }
    }
}

#[test]
fn truncated_at_every_offset() {
    for (fx, orig) in fixtures() {
        for n in 0..orig.len() {
            let label = format!("{fx:?} truncated to {n} bytes");
            // The section header table is the last thing in the file, so every cut is an error.
            let e = no_panic(&label, orig[..n].to_vec()).expect_err(&label);
            if n >= 64 {
                assert!(
                    e.contains("offset"),
                    "{label}: error should give the offset: {e}"
                );
            }
        }
        no_panic(&format!("{fx:?} intact"), orig.clone()).expect("the intact fixture parses");
    }
}

#[test]
fn every_byte_mutated() {
    for (fx, orig) in fixtures() {
        let (mut ok, mut err) = (0, 0);
        for i in 0..orig.len() {
            for v in [0x00u8, 0xff, orig[i] ^ 0x80] {
                if orig[i] == v {
                    continue;
                }
                let mut b = orig.clone();
                b[i] = v;
                match no_panic(&format!("{fx:?} byte {i:#x} = {v:#04x}"), b) {
                    Ok(()) => ok += 1,
                    Err(_) => err += 1,
                }
            }
        }
        // Both outcomes must occur: otherwise the corpus is not exercising the parser.
        assert!(ok > 100 && err > 100, "{fx:?}: {ok} parsed, {err} rejected");
    }
}

#[test]
fn random_garbage_after_valid_header() {
    let (_, orig) = fixtures().remove(0);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for case in 0..300 {
        let n = 64 + (next() % 4096) as usize;
        let mut b: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        b[..64].copy_from_slice(&orig[..64]);
        // Point the section table somewhere inside the garbage half the time.
        if case % 2 == 0 {
            let shoff = (next() % n as u64) & !7;
            put_u64(&mut b, 0x28, shoff);
            put_u16(&mut b, 0x3c, (next() % 16) as u16);
            put_u16(&mut b, 0x3e, (next() % 16) as u16);
            put_u16(&mut b, 0x38, 0);
        }
        let _ = no_panic(&format!("garbage case {case}"), b);
    }
}
