//! Architecture-neutral facts about one decoded instruction. Both decoders fill these from their
//! own metadata (iced-x86: cpuid features, flow control, operand kinds, memory-size info;
//! yaxpeax-arm: opcode enum and operand kinds); the SIMD table and the loop analysis only read
//! this struct.

use serde::Serialize;

/// What an instruction's mnemonic does (from the decoder's enum, see `x86_tables.rs`/`arm64.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Fma,
    Add,
    Arith,
    Logic,
    Compare,
    Convert,
    Shuffle,
    Broadcast,
    Move,
    Other,
}

/// Category reported per instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// SIMD/FP data moved from memory into a vector/FP register (incl. broadcast loads, gathers).
    VectorLoad,
    /// SIMD/FP register data written to memory (incl. scatters, extract-to-memory).
    VectorStore,
    /// SIMD/FP arithmetic (add, sub, mul, div, min/max, sqrt, shifts, abs, …).
    Arithmetic,
    /// Fused multiply-add and other multiply-accumulate (incl. dot-product accumulate).
    Fma,
    /// Bitwise logic on vector/FP or mask registers.
    Logic,
    Shuffle,
    Compare,
    Convert,
    /// Register-to-register SIMD/FP moves (incl. GP<->vector transfers).
    VectorMove,
    /// Any control-flow change: jumps, calls, returns.
    Branch,
    /// Other SIMD/FP instruction (crypto, state management, x87 without a better bucket, …).
    OtherSimd,
    /// General-purpose (integer/scalar) instruction that is not a branch.
    General,
    /// Bytes the decoder could not decode.
    Undecoded,
}

impl Category {
    pub const ALL: [Category; 13] = [
        Category::VectorLoad,
        Category::VectorStore,
        Category::Arithmetic,
        Category::Fma,
        Category::Logic,
        Category::Shuffle,
        Category::Compare,
        Category::Convert,
        Category::VectorMove,
        Category::Branch,
        Category::OtherSimd,
        Category::General,
        Category::Undecoded,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Category::VectorLoad => "vector_load",
            Category::VectorStore => "vector_store",
            Category::Arithmetic => "arithmetic",
            Category::Fma => "fma",
            Category::Logic => "logic",
            Category::Shuffle => "shuffle",
            Category::Compare => "compare",
            Category::Convert => "convert",
            Category::VectorMove => "vector_move",
            Category::Branch => "branch",
            Category::OtherSimd => "other_simd",
            Category::General => "general",
            Category::Undecoded => "undecoded",
        }
    }
}

/// Control-flow kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    Next,
    /// Direct conditional jump (incl. cbz/tbz, loop/jrcxz).
    CondJump,
    /// Direct unconditional jump.
    Jump,
    IndirectJump,
    Call,
    IndirectCall,
    Return,
    /// Interrupts, exceptions, traps, transactional aborts.
    Other,
}

/// Facts about one decoded instruction.
#[derive(Debug, Clone, Copy)]
pub struct Insn {
    pub addr: u64,
    pub len: u8,
    /// ISA extension label: "base", "x87", "SSE2", "AVX2", "AVX512F", … / "base", "fp", "neon",
    /// "crypto", "undecoded (likely SVE)".
    pub ext: &'static str,
    pub cat: Category,
    pub group: Group,
    pub flow: Flow,
    /// Direct branch target (0 when none).
    pub target: u64,
    /// Touches vector or FP registers.
    pub simd: bool,
    /// Width of the vector registers for packed operations, 0 for scalar.
    pub vector_bits: u16,
    /// Element width in bits when the decoder knows it, else 0.
    pub elem_bits: u16,
    pub mem_read: bool,
    pub mem_write: bool,
    /// Bytes moved by the explicit memory operand (0 if unknown / none).
    pub mem_bytes: u16,
    /// Address-stream key: same base register ⇒ same key (x86: the index register when there
    /// is no base). 0 = no stream (no memory operand, or PC/stack-relative).
    pub stream: u32,
    /// Register that this add/FMA both reads and writes (an accumulator), `u16::MAX` if none.
    pub acc_reg: u16,
    /// Vector/FP registers this instruction writes, one bit per register number (x86: zmm
    /// index, AArch64: v index); `acc_reg` uses the same numbering.
    pub dst_mask: u64,
}

impl Insn {
    /// An instruction the decoder could not decode (`ext` says how to label it); the decoders
    /// start from this and fill in what they learn.
    pub fn undecoded(addr: u64, len: u8, ext: &'static str) -> Insn {
        Insn {
            addr,
            len,
            ext,
            cat: Category::Undecoded,
            group: Group::Other,
            flow: Flow::Next,
            target: 0,
            simd: false,
            vector_bits: 0,
            elem_bits: 0,
            mem_read: false,
            mem_write: false,
            mem_bytes: 0,
            stream: 0,
            acc_reg: u16::MAX,
            dst_mask: 0,
        }
    }
    pub fn end(&self) -> u64 {
        self.addr + self.len as u64
    }
    pub fn is_undecoded(&self) -> bool {
        self.cat == Category::Undecoded
    }
    /// Backward branch: a direct jump (not a call) whose target is at or before itself.
    pub fn is_backward_jump(&self) -> bool {
        matches!(self.flow, Flow::CondJump | Flow::Jump) && self.target <= self.addr
    }
}

/// Category from group + operand facts, shared by both architectures.
pub(crate) fn categorize(
    group: Group,
    simd: bool,
    mem_read: bool,
    mem_write: bool,
    flow: Flow,
) -> Category {
    if flow != Flow::Next {
        return Category::Branch;
    }
    if !simd {
        return Category::General;
    }
    match group {
        Group::Move | Group::Broadcast if mem_write => Category::VectorStore,
        Group::Move | Group::Broadcast if mem_read => Category::VectorLoad,
        Group::Move => Category::VectorMove,
        Group::Broadcast => Category::Shuffle,
        Group::Fma => Category::Fma,
        Group::Add | Group::Arith => Category::Arithmetic,
        Group::Logic => Category::Logic,
        Group::Compare => Category::Compare,
        Group::Convert => Category::Convert,
        // Extract/compress/pack to memory is how a vector leaves: count it as a store.
        Group::Shuffle if mem_write => Category::VectorStore,
        Group::Shuffle => Category::Shuffle,
        Group::Other => Category::OtherSimd,
    }
}
