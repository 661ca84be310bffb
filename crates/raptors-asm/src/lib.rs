//! ELF symbol extraction, x86-64/AArch64 disassembly, SIMD classification and loop analysis.
