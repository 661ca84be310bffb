//! Architecture-neutral driver for text output: objdump's layout, per-function or whole-file,
//! decoded once and formatted in parallel batches into a buffered writer.

use std::collections::BTreeMap;
use std::io::Write;

use rayon::prelude::*;

use crate::elf::{Arch, ElfFile, Section};
use crate::symbols::{Function, SymbolTable};
use crate::x86::Syntax;

/// Resolves addresses to `<name+0xoff>` labels.
pub trait Symbolizer: Sync {
    /// Appends ` <name+0xoff>` for `addr` to `s`, or nothing when no function covers it.
    fn append_label(&self, addr: u64, s: &mut String);
}

/// Symbolizer that knows nothing (used for tests and label-free output).
pub struct NoSymbols;
impl Symbolizer for NoSymbols {
    fn append_label(&self, _: u64, _: &mut String) {}
}

/// Function-table symbolizer: nearest function whose range covers the address.
pub struct FuncSymbols<'a> {
    funcs: &'a [Function],
}

impl<'a> FuncSymbols<'a> {
    pub fn new(table: &'a SymbolTable) -> Self {
        FuncSymbols {
            funcs: &table.functions,
        }
    }
}

impl Symbolizer for FuncSymbols<'_> {
    fn append_label(&self, addr: u64, s: &mut String) {
        thread_local! {
            // Most targets fall in the function of the previous lookup (branches within a loop).
            static LAST: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
        }
        let n = self.funcs.len();
        let cached = LAST.with(|c| c.get());
        let hit = cached < n
            && self.funcs[cached].address <= addr
            && (cached + 1 == n || addr < self.funcs[cached + 1].address);
        let i = if hit {
            cached + 1
        } else {
            let i = self.funcs.partition_point(|f| f.address <= addr);
            LAST.with(|c| c.set(i.wrapping_sub(1)));
            i
        };
        if i == 0 {
            return;
        }
        let f = &self.funcs[i - 1];
        if addr < f.end || addr == f.address {
            s.push_str(" <");
            s.push_str(&f.name);
            let off = addr - f.address;
            if off != 0 {
                use std::fmt::Write as _;
                let _ = write!(s, "+{off:#x}");
            }
            s.push('>');
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends two lower-case hex digits.
pub fn push_hex_byte(out: &mut Vec<u8>, b: u8) {
    out.push(HEX[(b >> 4) as usize]);
    out.push(HEX[(b & 15) as usize]);
}

/// objdump's address-column width for a section ending at `end`: leading zeros of the 16-digit
/// end address are dropped in groups of four, keeping at least one (binutils `skip_addr_chars`).
pub fn addr_width(end: u64) -> usize {
    let zeros = (end.leading_zeros() / 4) as usize;
    if zeros == 0 {
        return 16;
    }
    16 - ((zeros - 1) & !3)
}

/// Appends objdump's address column: `{addr:>width$x}:\t`.
pub fn push_addr(out: &mut Vec<u8>, addr: u64, width: usize) {
    let mut digits = [0u8; 16];
    let mut n = 0;
    let mut a = addr;
    loop {
        digits[n] = HEX[(a & 15) as usize];
        n += 1;
        a >>= 4;
        if a == 0 {
            break;
        }
    }
    for _ in n..width {
        out.push(b' ');
    }
    for k in (0..n).rev() {
        out.push(digits[k]);
    }
    out.extend_from_slice(b":\t");
}

/// Text-output options.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    pub syntax: Syntax,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            syntax: Syntax::Att,
        }
    }
}

/// Formats `code` at `addr` for `elf`'s architecture.
pub fn format_code(
    arch: Arch,
    code: &[u8],
    addr: u64,
    width: usize,
    opts: TextOptions,
    syms: &dyn Symbolizer,
    out: &mut Vec<u8>,
) {
    match arch {
        Arch::X86_64 => crate::x86::format_region(code, addr, width, opts.syntax, syms, out),
        Arch::Aarch64 => crate::arm64::format_region(code, addr, width, syms, out),
    }
}

/// Bytes of `[start, end)` inside `sec`, clamped to the section (bounds checked).
pub fn slice_in<'a>(elf: &'a ElfFile, sec: &Section, start: u64, end: u64) -> &'a [u8] {
    let data = elf.section_data(sec);
    let lo = start.saturating_sub(sec.addr).min(data.len() as u64) as usize;
    let hi = end.saturating_sub(sec.addr).min(data.len() as u64) as usize;
    &data[lo..hi.max(lo)]
}

/// Code bytes of a function (clamped to its section).
pub fn function_code<'a>(elf: &'a ElfFile, f: &Function) -> &'a [u8] {
    match elf.code_section_at(f.address) {
        Some(sec) => slice_in(elf, sec, f.address, f.end),
        None => &[],
    }
}

struct Region<'a> {
    name: &'a str,
    start: u64,
    width: usize,
    code: &'a [u8],
}

fn write_regions(
    elf: &ElfFile,
    regions: &[Region<'_>],
    opts: TextOptions,
    syms: &dyn Symbolizer,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    // Batches keep memory bounded while both cores format; each region's buffer is reused from
    // batch to batch (fresh allocations cost page faults on every batch).
    const BATCH: usize = 512;
    let mut bufs: Vec<Vec<u8>> = (0..BATCH.min(regions.len())).map(|_| Vec::new()).collect();
    for batch in regions.chunks(BATCH) {
        batch
            .par_iter()
            .zip(bufs.par_iter_mut())
            .for_each(|(r, buf)| {
                buf.clear();
                buf.reserve(r.code.len() * 16 + 64);
                let _ = write!(buf, "\n{:016x} <{}>:\n", r.start, r.name);
                format_code(elf.arch, r.code, r.start, r.width, opts, syms, buf);
            });
        for b in &bufs[..batch.len()] {
            w.write_all(b)?;
        }
    }
    Ok(())
}

/// Whole-file disassembly in objdump's layout: every executable section, decoding restarting at
/// each symbol (as objdump does), `<name>:` headers at symbol addresses.
pub fn disassemble_all(
    elf: &ElfFile,
    table: &SymbolTable,
    opts: TextOptions,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let syms = FuncSymbols::new(table);
    write!(
        w,
        "\n{}:     file format {}\n\n",
        elf.path.display(),
        elf.arch.objdump_format()
    )?;
    for sec in elf.code_sections() {
        write!(w, "\nDisassembly of section {}:\n", sec.name)?;
        let names = boundaries(elf, table, sec);
        let data = elf.section_data(sec);
        let starts: Vec<(&u64, &String)> = names.iter().collect();
        let mut regions = Vec::with_capacity(starts.len());
        for (k, (&a, name)) in starts.iter().enumerate() {
            let end = starts
                .get(k + 1)
                .map(|(&n, _)| n)
                .unwrap_or(sec.addr + sec.size);
            let lo = (a - sec.addr) as usize;
            let hi = ((end - sec.addr) as usize).min(data.len());
            regions.push(Region {
                name: name.as_str(),
                start: a,
                width: addr_width(sec.addr + sec.size),
                code: &data[lo..hi.max(lo)],
            });
        }
        write_regions(elf, &regions, opts, &syms, w)?;
    }
    Ok(())
}

/// Symbol starts inside `sec` (plus the section start), with the name to print.
fn boundaries(elf: &ElfFile, table: &SymbolTable, sec: &Section) -> BTreeMap<u64, String> {
    let inside = |a: u64| a >= sec.addr && a - sec.addr < sec.size;
    let mut m = BTreeMap::new();
    for s in &elf.raw_symbols {
        if inside(s.addr) {
            m.entry(s.addr)
                .or_insert_with(|| crate::symbols::demangle(&s.name));
        }
    }
    for f in &table.functions {
        if inside(f.address) {
            m.insert(f.address, f.name.clone());
        }
    }
    m.entry(sec.addr).or_insert_with(|| sec.name.clone());
    m
}

/// Disassembly of the given functions only (each from its start to its end).
pub fn disassemble_functions(
    elf: &ElfFile,
    table: &SymbolTable,
    funcs: &[&Function],
    opts: TextOptions,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let syms = FuncSymbols::new(table);
    let regions: Vec<Region<'_>> = funcs
        .iter()
        .map(|f| Region {
            name: &f.name,
            start: f.address,
            width: elf
                .code_section_at(f.address)
                .map(|s| addr_width(s.addr + s.size))
                .unwrap_or(8),
            code: function_code(elf, f),
        })
        .collect();
    write_regions(elf, &regions, opts, &syms, w)
}

/// (address, printed text) for every instruction of a section, decoding restarting at symbols
/// exactly like [`disassemble_all`]; the objdump cross-check uses it.
pub fn section_listing(elf: &ElfFile, table: &SymbolTable, sec: &Section) -> Vec<(u64, String)> {
    section_listing_with(elf, table, sec, TextOptions::default())
}

/// [`section_listing`] with explicit options (x86 syntax).
pub fn section_listing_with(
    elf: &ElfFile,
    table: &SymbolTable,
    sec: &Section,
    opts: TextOptions,
) -> Vec<(u64, String)> {
    let syms = FuncSymbols::new(table);
    let names = boundaries(elf, table, sec);
    let starts: Vec<u64> = names.keys().copied().collect();
    let mut v = Vec::new();
    for (k, &a) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(sec.addr + sec.size);
        let code = slice_in(elf, sec, a, end);
        match elf.arch {
            Arch::X86_64 => v.extend(crate::x86::mnemonics(code, a, opts.syntax, &syms)),
            Arch::Aarch64 => v.extend(crate::arm64::mnemonics(code, a, &syms)),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_width_follows_binutils() {
        // objdump: ` 304:` in a tiny .so, `   10000:` in libm, 12 columns past 8 digits.
        assert_eq!(addr_width(0x328), 4);
        assert_eq!(addr_width(0xfff), 4);
        assert_eq!(addr_width(0xffff), 8);
        assert_eq!(addr_width(0x1_0000), 8);
        assert_eq!(addr_width(0xc_8000), 8);
        assert_eq!(addr_width(0x1234_5678), 12);
        assert_eq!(addr_width(u64::MAX), 16);
        let mut v = Vec::new();
        push_addr(&mut v, 0x10000, 8);
        assert_eq!(v, b"   10000:\t");
    }
}
