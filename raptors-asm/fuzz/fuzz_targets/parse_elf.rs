//! Arbitrary bytes through the whole pipeline: ELF parse, symbols (+ .eh_frame), whole-file
//! disassembly, SIMD counts and loop analysis. Any panic is a bug; errors are expected.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raptors_asm::{disasm, loops, simd, ElfFile, SymbolTable};

fuzz_target!(|data: &[u8]| {
    let Ok(elf) = ElfFile::from_bytes("fuzz-input", data.to_vec()) else {
        return;
    };
    let table = SymbolTable::read(&elf);
    let funcs: Vec<_> = table.functions.iter().collect();
    let mut sink = Vec::new();
    let _ = disasm::disassemble_all(&elf, &table, Default::default(), &mut sink);
    let _ = simd::simd_report(&elf, &funcs);
    let _ = loops::loops_report(&elf, &table, &funcs);
});
