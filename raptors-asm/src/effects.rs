//! Register and memory effects of each instruction, from decoder metadata (iced-x86's
//! `InstructionInfoFactory`; yaxpeax-arm's operand kinds): which registers it reads and writes,
//! its memory operand as base/index/scale/displacement, and whether it is an affine update
//! `dst = src + constant` (add/sub immediate, `lea disp(src)`, register copy, post/pre-index
//! write-back). [`crate::streams`] uses them to follow pointers through one loop iteration and
//! [`crate::origins`] to follow them through the function.
//!
//! Registers are numbered 0..64 so a set fits in a `u64`: x86-64 GP `rax..r15` = 0..16, vector
//! `zmm0..31` = 16..48; AArch64 `x0..x30` = 0..31, `sp` = 31, `v0..v31` = 32..64. The zero
//! register is not tracked.

mod a64;
mod x86;

use crate::elf::Arch;
use crate::insn::Flow;

/// x86-64 `rsp` in this numbering.
pub const X86_RSP: u8 = 4;
/// AArch64 `sp` in this numbering.
pub const A64_SP: u8 = 31;

/// `dst = src · mul + add` (both registers in this module's numbering). `mul` is 1 for
/// add/sub immediate, `lea disp(src)`, copies and write-back; a left shift or a scaled `lea`
/// without a base makes it a power of two (an index scaled to bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Affine {
    pub dst: u8,
    pub src: u8,
    pub mul: i64,
    pub add: i64,
}

/// Base-register write-back of an AArch64 pre/post-indexed access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writeback {
    None,
    /// `[xN, #imm]!`: the base is advanced before the access.
    Pre(i64),
    /// `[xN], #imm`: the base is advanced after the access.
    Post(i64),
    /// `[xN], xM`: advanced by a register.
    PostReg,
}

/// An explicit memory operand that is really accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mem {
    pub base: Option<u8>,
    /// Index register (`None` for a vector index: gathers/scatters).
    pub index: Option<u8>,
    pub scale: u8,
    pub disp: i64,
    pub bytes: u32,
    pub read: bool,
    pub write: bool,
    /// PC/RIP-relative (constants, globals).
    pub pc_rel: bool,
    /// Gather/scatter with a vector index: no single address stream.
    pub vector_index: bool,
    pub writeback: Writeback,
}

impl Mem {
    /// Stack-relative (spills, locals): never an array stream.
    pub fn is_stack(&self, arch: Arch) -> bool {
        let sp = match arch {
            Arch::X86_64 => X86_RSP,
            Arch::Aarch64 => A64_SP,
        };
        self.base == Some(sp) || (self.base.is_none() && self.index == Some(sp))
    }
}

/// Pseudo source register: the memory operand's value.
pub const MEM_SRC: u8 = 0xff;

/// How the written register's pointer lineage follows from the sources (see `origins`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lineage {
    /// The first source that carries a lineage (`dst = ptr + int`, `int + ptr`, copies, loads).
    First,
    /// Either source (`csel`, `cmov`, blends): the union.
    Union,
    /// An integer result (multiply, shift, low-bit mask, extension): no pointer lineage.
    Drop,
}

/// Effects of one instruction.
#[derive(Debug, Clone, Copy)]
pub struct Effect {
    pub addr: u64,
    pub flow: Flow,
    /// Direct branch target (0 when none).
    pub target: u64,
    /// Registers read as data (address registers of an accessed memory operand excluded).
    pub reads: u64,
    /// Registers used to form the address of `mem`.
    pub addr_regs: u64,
    pub writes: u64,
    pub affine: Option<Affine>,
    pub mem: Option<Mem>,
    /// The two data registers of a pair load/store (`ldp`/`stp`), in operand order: the first
    /// goes to/from the lower address.
    pub pair: Option<(u8, u8)>,
    /// Source registers in operand order ([`MEM_SRC`] = the memory operand), first `nsrcs`.
    pub srcs: [u8; 4],
    pub nsrcs: u8,
    pub lineage: Lineage,
}

impl Effect {
    fn new(addr: u64) -> Effect {
        Effect {
            addr,
            flow: Flow::Next,
            target: 0,
            reads: 0,
            addr_regs: 0,
            writes: 0,
            affine: None,
            mem: None,
            pair: None,
            srcs: [0; 4],
            nsrcs: 0,
            lineage: Lineage::First,
        }
    }

    fn push_src(&mut self, r: u8) {
        if (self.nsrcs as usize) < self.srcs.len() {
            self.srcs[self.nsrcs as usize] = r;
            self.nsrcs += 1;
        }
    }

    /// Source registers in operand order.
    pub fn sources(&self) -> &[u8] {
        &self.srcs[..self.nsrcs as usize]
    }
}

/// Effects of every instruction of `code` loaded at `addr`.
pub fn effects(arch: Arch, code: &[u8], addr: u64) -> Vec<Effect> {
    let mut v = Vec::new();
    match arch {
        Arch::X86_64 => {
            let mut info = iced_x86::InstructionInfoFactory::new();
            crate::x86::walk(code, addr, |u, _| v.push(x86::effect(u, &mut info)));
        }
        Arch::Aarch64 => crate::arm64::walk(code, addr, |a, word, i| {
            let mut e = a64::effect(a, i);
            if let Some(m) = &mut e.mem {
                // Access size: the same rule the instruction facts use.
                m.bytes = crate::arm64::facts(a, word, i).mem_bytes as u32;
            }
            v.push(e)
        }),
    }
    v
}

/// Printable register name in this module's numbering.
pub fn reg_name(arch: Arch, r: u8) -> String {
    match arch {
        Arch::X86_64 => {
            const GP: [&str; 16] = [
                "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
                "r12", "r13", "r14", "r15",
            ];
            match r {
                0..=15 => GP[r as usize].to_string(),
                16..=47 => format!("zmm{}", r - 16),
                _ => format!("r?{r}"),
            }
        }
        Arch::Aarch64 => match r {
            0..=30 => format!("x{r}"),
            31 => "sp".into(),
            32..=63 => format!("v{}", r - 32),
            _ => format!("r?{r}"),
        },
    }
}

/// Registers a call may change (SysV x86-64 / AAPCS64 caller-saved, incl. all vector registers
/// whose full width is not preserved).
pub fn call_clobbers(arch: Arch) -> u64 {
    match arch {
        // rax rcx rdx rsi rdi r8-r11 + zmm0-31.
        Arch::X86_64 => {
            let gp: u64 = [0u8, 1, 2, 6, 7, 8, 9, 10, 11]
                .iter()
                .fold(0, |m, &r| m | 1 << r);
            gp | (((1u64 << 32) - 1) << 16)
        }
        // x0-x18, x30, all v registers (only the low 64 bits of v8-v15 survive).
        Arch::Aarch64 => ((1u64 << 19) - 1) | 1 << 30 | (u32::MAX as u64) << 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a64(words: &[u32]) -> Vec<Effect> {
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        effects(Arch::Aarch64, &code, 0x1000)
    }

    #[test]
    fn aarch64_affine_and_memory() {
        // mov x13, x12; add x0, x0, #0x20; cmp x2, #7; ldr q21, [x4, x0];
        // ldp q3, q4, [x0], #0x20; add x4, x4, x2
        let e = a64(&[
            0xaa0c03ed, 0x91008000, 0xf1001c5f, 0x3ce06895, 0xacc11003, 0x8b020084,
        ]);
        assert_eq!(
            e[0].affine,
            Some(Affine {
                dst: 13,
                src: 12,
                mul: 1,
                add: 0
            })
        );
        assert_eq!(
            e[1].affine,
            Some(Affine {
                dst: 0,
                src: 0,
                mul: 1,
                add: 32
            })
        );
        assert_eq!(e[2].writes, 0, "cmp writes only the zero register");
        let m = e[3].mem.unwrap();
        assert_eq!(
            (m.base, m.index, m.scale, m.read),
            (Some(4), Some(0), 1, true)
        );
        assert_eq!(e[3].writes, 1 << (32 + 21));
        let m = e[4].mem.unwrap();
        assert_eq!((m.base, m.writeback), (Some(0), Writeback::Post(32)));
        assert_eq!(e[4].writes, 1 << 35 | 1 << 36 | 1);
        assert_eq!(e[5].affine, None, "a register stride is not a constant");
        assert_eq!(e[5].reads, 1 << 4 | 1 << 2);
    }

    #[test]
    fn x86_affine_and_memory() {
        // xor %r11d,%r11d; add $0x40,%rdx; lea -0x1(%rsi),%r9; vaddps 0x20(%rcx,%rdx,1),%ymm0,%ymm0
        let code = [
            0x45, 0x31, 0xdb, 0x48, 0x83, 0xc2, 0x40, 0x4c, 0x8d, 0x4e, 0xff, 0xc5, 0xfc, 0x58,
            0x44, 0x11, 0x20,
        ];
        let e = effects(Arch::X86_64, &code, 0);
        assert_eq!(
            (e[0].reads, e[0].writes),
            (0, 1 << 11),
            "xor zeroing reads nothing"
        );
        assert_eq!(
            e[1].affine,
            Some(Affine {
                dst: 2,
                src: 2,
                mul: 1,
                add: 64
            })
        );
        assert_eq!(
            e[2].affine,
            Some(Affine {
                dst: 9,
                src: 6,
                mul: 1,
                add: -1
            })
        );
        let m = e[3].mem.unwrap();
        assert_eq!(
            (m.base, m.index, m.scale, m.disp, m.bytes),
            (Some(1), Some(2), 1, 32, 32)
        );
        assert_eq!(e[3].reads, 1 << 16, "address registers are not data");
    }

    #[test]
    fn x86_scaled_index() {
        // shl $0x4,%rdx; shl $0x4,%edx; lea 0x8(,%rax,8),%rcx
        let code = [
            0x48, 0xc1, 0xe2, 0x04, 0xc1, 0xe2, 0x04, 0x48, 0x8d, 0x0c, 0xc5, 0x08, 0x00, 0x00,
            0x00,
        ];
        let e = effects(Arch::X86_64, &code, 0);
        assert_eq!(
            e[0].affine,
            Some(Affine {
                dst: 2,
                src: 2,
                mul: 16,
                add: 0
            })
        );
        assert_eq!(e[1].affine, None, "a 32-bit shift truncates: not affine");
        assert_eq!(
            e[2].affine,
            Some(Affine {
                dst: 1,
                src: 0,
                mul: 8,
                add: 8
            })
        );
    }
}
