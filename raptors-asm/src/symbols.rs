//! Function symbols: `.symtab`, `.dynsym`, and — for stripped libraries — `.eh_frame` FDEs parsed
//! with gimli. Every function records where its bounds came from, because a size inferred from
//! the next symbol is much weaker evidence than one the linker wrote down.

use std::collections::HashMap;

use gimli::{BaseAddresses, CieOrFde, EhFrame, LittleEndian, UnwindSection};
use regex::Regex;
use serde::Serialize;

use crate::elf::{ElfFile, SymSource};
use crate::error::{AsmError, Result};

/// One function in an executable section.
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    /// Demangled name (Rust hashes dropped); `sub_<hex addr>` for FDE-only functions.
    pub name: String,
    /// The name as stored in the symbol table.
    pub raw_name: String,
    pub address: u64,
    pub size: u64,
    /// `address + size` (exclusive).
    pub end: u64,
    /// `.symtab`, `.dynsym` or `.eh_frame`.
    pub bounds_source: SymSource,
    /// True when the symbol had size 0 and the size is the distance to the next function
    /// (or section end) — no FDE was available to tell.
    pub size_inferred: bool,
    pub section: String,
    /// Other names at the same address.
    pub aliases: Vec<String>,
}

/// Functions sorted by address, plus problems met while reading them.
#[derive(Debug, Clone, Serialize)]
pub struct SymbolTable {
    pub functions: Vec<Function>,
    /// True when the file has no `.symtab` (bounds then come from `.dynsym` and `.eh_frame`).
    pub stripped: bool,
    /// Number of functions whose bounds came from `.eh_frame` FDEs.
    pub from_eh_frame: usize,
    /// Non-fatal problems (e.g. a corrupt `.eh_frame` entry ends the FDE walk early).
    pub warnings: Vec<String>,
}

/// Demangles Rust (legacy and v0) and Itanium C++ names; other names are returned unchanged.
pub fn demangle(raw: &str) -> String {
    let base = raw.split('@').next().unwrap_or(raw);
    if let Ok(d) = rustc_demangle::try_demangle(base) {
        return format!("{d:#}");
    }
    if base.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(base) {
            if let Ok(s) = sym.demangle() {
                return s;
            }
        }
    }
    raw.to_string()
}

/// Reads `(start, length)` for every FDE in `.eh_frame`.
pub fn eh_frame_ranges(elf: &ElfFile, warnings: &mut Vec<String>) -> Vec<(u64, u64)> {
    let Some(sec) = elf.section_by_name(".eh_frame") else {
        return Vec::new();
    };
    let data = elf.section_data(sec);
    let mut eh = EhFrame::new(data, LittleEndian);
    eh.set_address_size(8);
    let mut bases = BaseAddresses::default().set_eh_frame(sec.addr);
    if let Some(t) = elf.section_by_name(".text") {
        bases = bases.set_text(t.addr);
    }
    if let Some(h) = elf.section_by_name(".eh_frame_hdr") {
        bases = bases.set_eh_frame_hdr(h.addr);
    }
    if let Some(g) = elf.section_by_name(".got") {
        bases = bases.set_got(g.addr);
    }
    let mut out = Vec::new();
    let mut entries = eh.entries(&bases);
    loop {
        match entries.next() {
            Ok(None) => break,
            Ok(Some(CieOrFde::Cie(_))) => {}
            Ok(Some(CieOrFde::Fde(partial))) => {
                match partial.parse(|s, b, o| s.cie_from_offset(b, o)) {
                    Ok(fde) => out.push((fde.initial_address(), fde.len())),
                    Err(e) => warnings.push(format!(".eh_frame: skipped an FDE: {e}")),
                }
            }
            Err(e) => {
                warnings.push(format!(".eh_frame: stopped reading entries: {e}"));
                break;
            }
        }
    }
    out
}

impl SymbolTable {
    /// Builds the function list of `elf`.
    pub fn read(elf: &ElfFile) -> SymbolTable {
        let mut warnings = Vec::new();
        let stripped = !elf.has_symtab;
        // Group function symbols by address; the best-attested one names the function.
        let mut by_addr: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, s) in elf.raw_symbols.iter().enumerate() {
            if s.is_func {
                by_addr.entry(s.addr).or_default().push(i);
            }
        }
        let mut functions = Vec::with_capacity(by_addr.len());
        for (addr, mut idx) in by_addr {
            let Some(section) = elf.code_section_at(addr) else {
                continue;
            };
            idx.sort_by_key(|&i| {
                let s = &elf.raw_symbols[i];
                (s.source, !s.global, s.size == 0, i)
            });
            let best = &elf.raw_symbols[idx[0]];
            let mut aliases: Vec<String> = Vec::new();
            for &i in &idx[1..] {
                let n = demangle(&elf.raw_symbols[i].name);
                if n != demangle(&best.name) && !aliases.contains(&n) {
                    aliases.push(n);
                }
            }
            let size = idx
                .iter()
                .map(|&i| elf.raw_symbols[i].size)
                .find(|&s| s > 0)
                .unwrap_or(0);
            functions.push(Function {
                name: demangle(&best.name),
                raw_name: best.name.clone(),
                address: addr,
                size,
                end: addr.saturating_add(size),
                bounds_source: best.source,
                size_inferred: false,
                section: section.name.clone(),
                aliases,
            });
        }
        functions.sort_by_key(|f| f.address);

        let mut from_eh_frame = 0;
        let fdes = eh_frame_ranges(elf, &mut warnings);
        if !fdes.is_empty() {
            let index: HashMap<u64, usize> = functions
                .iter()
                .enumerate()
                .map(|(i, f)| (f.address, i))
                .collect();
            let mut added = Vec::new();
            for (start, len) in fdes {
                if len == 0 {
                    continue;
                }
                match index.get(&start) {
                    Some(&i) if functions[i].size == 0 => {
                        functions[i].size = len;
                        functions[i].end = start.saturating_add(len);
                        functions[i].bounds_source = SymSource::EhFrame;
                        from_eh_frame += 1;
                    }
                    Some(_) => {}
                    // Without .symtab, FDEs are the only record of non-exported functions.
                    None if stripped => {
                        if let Some(sec) = elf.code_section_at(start) {
                            let name = format!("sub_{start:x}");
                            added.push(Function {
                                raw_name: name.clone(),
                                name,
                                address: start,
                                size: len,
                                end: start.saturating_add(len),
                                bounds_source: SymSource::EhFrame,
                                size_inferred: false,
                                section: sec.name.clone(),
                                aliases: Vec::new(),
                            });
                            from_eh_frame += 1;
                        }
                    }
                    None => {}
                }
            }
            if !added.is_empty() {
                functions.extend(added);
                functions.sort_by_key(|f| f.address);
                functions.dedup_by_key(|f| f.address);
            }
        }
        // Size-0 symbols without an FDE: extend to the next function or the section end.
        let n = functions.len();
        for i in 0..n {
            if functions[i].size != 0 {
                continue;
            }
            let addr = functions[i].address;
            let sec_end = elf
                .code_section_at(addr)
                .map(|s| s.addr + s.size)
                .unwrap_or(addr);
            let next = functions[i + 1..]
                .iter()
                .map(|f| f.address)
                .find(|&a| a > addr)
                .unwrap_or(sec_end)
                .min(sec_end);
            functions[i].size = next - addr;
            functions[i].end = next;
            functions[i].size_inferred = true;
        }
        SymbolTable {
            functions,
            stripped,
            from_eh_frame,
            warnings,
        }
    }

    /// Functions whose name (demangled, raw, or an alias) matches `pattern`, a regex. If some
    /// function is named exactly `pattern`, only exact matches are returned, so
    /// `--symbol FLOAT_add` means that function and not every `FLOAT_add_*` variant.
    ///
    /// A pattern `0x<hex>` selects the function starting at that address (for names shared by
    /// several local functions).
    pub fn select(&self, pattern: &str) -> Result<Vec<&Function>> {
        if let Some(hex) = pattern.strip_prefix("0x") {
            if let Ok(a) = u64::from_str_radix(hex, 16) {
                return Ok(self.functions.iter().filter(|f| f.address == a).collect());
            }
        }
        let names = |f: &'_ Function| -> Vec<String> {
            let mut v = vec![f.name.clone(), f.raw_name.clone()];
            v.extend(f.aliases.iter().cloned());
            v
        };
        let exact: Vec<&Function> = self
            .functions
            .iter()
            .filter(|f| names(f).iter().any(|n| n == pattern))
            .collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        let re = Regex::new(pattern).map_err(|e| AsmError::Pattern {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        Ok(self
            .functions
            .iter()
            .filter(|f| names(f).iter().any(|n| re.is_match(n)))
            .collect())
    }

    /// Union of [`select`](Self::select) over several patterns, in address order, without
    /// duplicates. An empty pattern list selects nothing; callers decide what "all" means.
    pub fn select_all(&self, elf: &ElfFile, patterns: &[String]) -> Result<Vec<&Function>> {
        let mut out: Vec<&Function> = Vec::new();
        for p in patterns {
            let found = self.select(p)?;
            if found.is_empty() {
                return Err(AsmError::Symbol {
                    path: elf.path.clone(),
                    reason: format!(
                        "no function matches {p:?} ({} functions in the file)",
                        self.functions.len()
                    ),
                });
            }
            out.extend(found);
        }
        out.sort_by_key(|f| f.address);
        out.dedup_by_key(|f| f.address);
        Ok(out)
    }

    /// The function containing `addr`, if any.
    pub fn containing(&self, addr: u64) -> Option<&Function> {
        let i = self.functions.partition_point(|f| f.address <= addr);
        let f = self.functions.get(i.checked_sub(1)?)?;
        (addr < f.end.max(f.address.saturating_add(1))).then_some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn demangles_rust_and_cpp_and_keeps_c() {
        assert_eq!(
            demangle("_ZN7raptors4kern3sum17h0123456789abcdefE"),
            "raptors::kern::sum"
        );
        assert_eq!(demangle("_RNvCs1234_7raptors3sum"), "raptors::sum");
        assert_eq!(
            demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"),
            "std::vector<int, std::allocator<int> >::push_back(int const&)"
        );
        assert_eq!(demangle("FLOAT_add_X86_V3"), "FLOAT_add_X86_V3");
        assert_eq!(demangle("memcpy@@GLIBC_2.14"), "memcpy@@GLIBC_2.14");
    }
}
