//! AArch64 decoding (yaxpeax-arm): objdump-compatible text and per-instruction facts from the
//! opcode enum and operand kinds.
//!
//! Normalisations so mnemonics agree with `aarch64-linux-gnu-objdump` (documented in the README):
//! condition codes `hs`/`lo` print as `cs`/`cc`; `dup Vd.T, Vn.T[i]` stays `dup` (yaxpeax: `mov`); `ushll/sshll{2} …, #0` print as `uxtl/sxtl{2}`;
//! `hint #0x22/#0x24/#0x26` print as `bti c/j/jc`; `sys #3, c7, cM, #n` prints as objdump's `dc`/`ic` alias (`dc zva`, `dc gva`, `dc civac`, …);
//! PC-relative operands print as `addr <sym+off>`. yaxpeax-arm 0.5 does not decode SVE: such words
//! print as `.inst 0x…` with a `// undecoded (likely SVE)` note and are counted, never dropped.

use std::fmt::Write as _;

use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{InstDecoder, Instruction, Opcode, Operand, SIMDSizeCode, SizeCode};

use crate::arm64_tables::{flow, group, is_crypto, mem_access};
use crate::disasm::{push_addr, push_hex_byte, Symbolizer};
use crate::insn::{categorize, Flow, Group, Insn};

/// Label for words the decoder rejects.
pub const UNDECODED: &str = "undecoded (likely SVE)";

/// True when `word` lies in the SVE encoding space (op0 bits 28:25 = 0b0010).
pub fn is_sve_space(word: u32) -> bool {
    (word >> 25) & 0xf == 0b0010
}

pub(crate) fn walk(code: &[u8], addr: u64, mut f: impl FnMut(u64, u32, Option<&Instruction>)) {
    let dec = InstDecoder::default();
    let mut pos = 0;
    while pos + 4 <= code.len() {
        let w = [code[pos], code[pos + 1], code[pos + 2], code[pos + 3]];
        let word = u32::from_le_bytes(w);
        let mut r = U8Reader::new(&w);
        let a = addr + pos as u64;
        match dec.decode(&mut r) {
            Ok(inst) => f(a, word, Some(&inst)),
            Err(_) => f(a, word, None),
        }
        pos += 4;
    }
}

fn pc_target(inst: &Instruction, addr: u64, off: i64) -> u64 {
    if inst.opcode == Opcode::ADRP {
        (addr & !0xfff).wrapping_add(off as u64)
    } else {
        addr.wrapping_add(off as u64)
    }
}

/// yaxpeax's text, normalised to objdump's mnemonics, with PC-relative operands made absolute.
/// `label` names PC-relative targets symbolically (for llvm-mca export and normalised diffs).
fn text(
    inst: &Instruction,
    addr: u64,
    syms: &dyn Symbolizer,
    label: Option<&dyn Fn(u64) -> String>,
    s: &mut String,
) {
    s.clear();
    // Normalisations that depend on the operands, decided on the decoded form.
    match inst.opcode {
        Opcode::HINT => {
            if let (Operand::ControlReg(crm), Operand::Immediate(op2)) =
                (inst.operands[0], inst.operands[1])
            {
                let n = (crm << 3) | op2 as u16;
                let bti = match n {
                    0x20 => Some("bti"),
                    0x22 => Some("bti\tc"),
                    0x24 => Some("bti\tj"),
                    0x26 => Some("bti\tjc"),
                    _ => None,
                };
                if let Some(b) = bti {
                    s.push_str(b);
                    return;
                }
            }
        }
        Opcode::SYS(ops) => {
            // Operands are [Rt, CRn, CRm]; objdump names the EL0 cache-maintenance aliases.
            if let (Operand::Register(_, rt), Operand::ControlReg(7), Operand::ControlReg(crm)) =
                (inst.operands[0], inst.operands[1], inst.operands[2])
            {
                let name = match (ops.op1(), crm, ops.op2()) {
                    (3, 4, 1) => Some("dc\tzva"),
                    (3, 4, 3) => Some("dc\tgva"),
                    (3, 4, 4) => Some("dc\tgzva"),
                    (3, 5, 1) => Some("ic\tivau"),
                    (3, 10, 1) => Some("dc\tcvac"),
                    (3, 11, 1) => Some("dc\tcvau"),
                    (3, 12, 1) => Some("dc\tcvap"),
                    (3, 13, 1) => Some("dc\tcvadp"),
                    (3, 14, 1) => Some("dc\tcivac"),
                    _ => None,
                };
                if let Some(n) = name {
                    let _ = write!(s, "{n}, {}", Operand::Register(SizeCode::X, rt));
                    return;
                }
            }
        }
        // `dup Vd.T, Vn.T[i]`: objdump keeps `dup` for a vector destination (yaxpeax says `mov`).
        Opcode::DUP => {
            if let (Operand::SIMDRegisterElements(..), Operand::SIMDRegisterElementsLane(..)) =
                (inst.operands[0], inst.operands[1])
            {
                let _ = write!(s, "dup\t{}, {}", inst.operands[0], inst.operands[1]);
                return;
            }
        }
        Opcode::USHLL | Opcode::SSHLL => {
            if let Operand::Immediate(0) = inst.operands[2] {
                let m = if inst.opcode == Opcode::USHLL {
                    "uxtl"
                } else {
                    "sxtl"
                };
                let m2 = matches!(
                    inst.operands[0],
                    Operand::SIMDRegisterElements(SIMDSizeCode::Q, ..)
                ) && matches!(
                    inst.operands[1],
                    Operand::SIMDRegisterElements(SIMDSizeCode::Q, ..)
                );
                let _ = write!(
                    s,
                    "{m}{}\t{}, {}",
                    if m2 { "2" } else { "" },
                    inst.operands[0],
                    inst.operands[1]
                );
                return;
            }
        }
        Opcode::USHLL2 | Opcode::SSHLL2 => {
            if let Operand::Immediate(0) = inst.operands[2] {
                let m = if inst.opcode == Opcode::USHLL2 {
                    "uxtl2"
                } else {
                    "sxtl2"
                };
                let _ = write!(s, "{m}\t{}, {}", inst.operands[0], inst.operands[1]);
                return;
            }
        }
        _ => {}
    }
    thread_local! {
        // yaxpeax only offers `Display`; reuse one buffer instead of a String per instruction.
        static RAW: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    RAW.with(|raw| {
        let mut raw = raw.borrow_mut();
        raw.clear();
        let _ = write!(raw, "{inst}");
        normalise(inst, addr, syms, label, &raw, s);
    });
}

/// Splits yaxpeax's text into mnemonic and operands and applies the string-level rules.
fn normalise(
    inst: &Instruction,
    addr: u64,
    syms: &dyn Symbolizer,
    label: Option<&dyn Fn(u64) -> String>,
    raw: &str,
    s: &mut String,
) {
    let (mn, ops) = match raw.find(' ') {
        Some(p) => (&raw[..p], raw[p + 1..].trim_start()),
        None => (raw, ""),
    };
    let mn = match mn {
        "b.hs" => "b.cs",
        "b.lo" => "b.cc",
        "bc.hs" => "bc.cs",
        "bc.lo" => "bc.cc",
        m => m,
    };
    s.push_str(mn);
    if ops.is_empty() {
        return;
    }
    s.push('\t');
    let pcrel = inst.operands.iter().find_map(|o| match o {
        Operand::PCOffset(off) => Some(*off),
        _ => None,
    });
    let has_cond = inst
        .operands
        .iter()
        .any(|o| matches!(o, Operand::ConditionCode(_)));
    if pcrel.is_none() && !has_cond {
        s.push_str(ops);
        return;
    }
    let parts: Vec<&str> = ops.split(", ").collect();
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            s.push_str(", ");
        }
        if part.starts_with("$+") || part.starts_with("$-") {
            if let Some(off) = pcrel {
                let t = pc_target(inst, addr, off);
                match label {
                    Some(l) => s.push_str(&l(t)),
                    None => {
                        let _ = write!(s, "{t:x}");
                        syms.append_label(t, s);
                    }
                }
                continue;
            }
        }
        // Condition-code operand (always last): objdump's spelling of carry set/clear.
        let last = k + 1 == parts.len() && has_cond;
        match *part {
            "hs" if last => s.push_str("cs"),
            "lo" if last => s.push_str("cc"),
            p => s.push_str(p),
        }
    }
}

fn undecoded_text(word: u32, s: &mut String) {
    s.clear();
    let _ = write!(s, ".inst\t{word:#010x} // {UNDECODED}");
}

/// Appends objdump-style lines (`addr:\tword \tmnemonic\toperands`) to `out`.
pub fn format_region(
    code: &[u8],
    addr: u64,
    width: usize,
    syms: &dyn Symbolizer,
    out: &mut Vec<u8>,
) {
    let mut s = String::with_capacity(96);
    walk(code, addr, |a, word, inst| {
        match inst {
            Some(i) => text(i, a, syms, None, &mut s),
            None => undecoded_text(word, &mut s),
        }
        push_addr(out, a, width);
        for b in word.to_be_bytes() {
            push_hex_byte(out, b);
        }
        out.extend_from_slice(b" \t");
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
    });
    let tail = code.len() % 4;
    if tail != 0 {
        push_addr(out, addr + (code.len() - tail) as u64, width);
        for &b in &code[code.len() - tail..] {
            push_hex_byte(out, b);
        }
        out.extend_from_slice(b" \t.byte (trailing bytes)\n");
    }
}

/// Lines for llvm-mca (and normalised diffs) with each instruction's address; every
/// PC-relative target `t` (branches, `adrp`, `adr`, literal loads) prints as `label(t)`: llvm-mca's
/// assembler rejects absolute targets on AArch64.
pub fn mca_lines(code: &[u8], addr: u64, label: &dyn Fn(u64) -> String) -> Vec<(u64, String)> {
    let mut v = Vec::new();
    let mut s = String::new();
    walk(code, addr, |a, word, inst| match inst {
        Some(i) => {
            text(i, a, &crate::disasm::NoSymbols, Some(label), &mut s);
            v.push((a, s.replace('\t', " ")));
        }
        None => v.push((a, format!(".inst {word:#010x}"))),
    });
    v
}

/// (address, text) per instruction; used by the objdump cross-check.
pub fn mnemonics(code: &[u8], addr: u64, syms: &dyn Symbolizer) -> Vec<(u64, String)> {
    let mut v = Vec::new();
    let mut s = String::new();
    walk(code, addr, |a, word, inst| {
        match inst {
            Some(i) => text(i, a, syms, None, &mut s),
            None => undecoded_text(word, &mut s),
        }
        v.push((a, s.clone()));
    });
    v
}

fn simd_size_bits(s: SIMDSizeCode) -> u16 {
    match s {
        SIMDSizeCode::B => 8,
        SIMDSizeCode::H => 16,
        SIMDSizeCode::S => 32,
        SIMDSizeCode::D => 64,
        SIMDSizeCode::Q => 128,
    }
}

/// Register number (0..=31) of a SIMD/FP operand.
fn simd_reg(o: &Operand) -> Option<u16> {
    match *o {
        Operand::SIMDRegister(_, r)
        | Operand::SIMDRegisterElements(_, r, _)
        | Operand::SIMDRegisterElementsLane(_, r, _, _)
        | Operand::SIMDRegisterElementsMultipleLane(_, r, _, _, _)
        | Operand::SIMDRegisterGroup(_, r, _, _)
        | Operand::SIMDRegisterGroupLane(r, _, _, _) => Some(r & 31),
        _ => None,
    }
}

/// Facts for every instruction in `code` at `addr`.
pub fn decode_facts(code: &[u8], addr: u64, out: &mut Vec<Insn>) {
    walk(code, addr, |a, word, inst| out.push(facts(a, word, inst)));
}

pub(crate) fn facts(addr: u64, _word: u32, inst: Option<&Instruction>) -> Insn {
    let mut insn = Insn::undecoded(addr, 4, UNDECODED);
    let Some(inst) = inst else {
        return insn;
    };
    let op = inst.opcode;
    insn.flow = flow(op);
    let mut vector = false;
    let mut scalar_fp = false;
    let mut gp_bytes = 0u16;
    let mut data_bytes = 0u16;
    for o in inst.operands.iter() {
        match *o {
            Operand::PCOffset(off) if insn.flow != Flow::Next => {
                insn.target = pc_target(inst, addr, off)
            }
            Operand::SIMDRegisterElements(w, _, e) => {
                vector = true;
                insn.vector_bits = insn.vector_bits.max(simd_size_bits(w));
                insn.elem_bits = simd_size_bits(e);
            }
            Operand::SIMDRegisterGroup(w, _, e, n) => {
                vector = true;
                insn.vector_bits = insn.vector_bits.max(simd_size_bits(w));
                insn.elem_bits = simd_size_bits(e);
                data_bytes = data_bytes.max(simd_size_bits(w) / 8 * n as u16);
            }
            Operand::SIMDRegisterElementsLane(_, _, e, _)
            | Operand::SIMDRegisterElementsMultipleLane(_, _, e, _, _) => {
                vector = true;
                insn.elem_bits = insn.elem_bits.max(simd_size_bits(e));
            }
            Operand::SIMDRegisterGroupLane(_, e, _, _) => {
                vector = true;
                insn.elem_bits = simd_size_bits(e);
            }
            Operand::SIMDRegister(s, _) => {
                if s == SIMDSizeCode::Q {
                    vector = true;
                    insn.vector_bits = insn.vector_bits.max(128);
                } else {
                    scalar_fp = true;
                    insn.elem_bits = insn.elem_bits.max(simd_size_bits(s));
                }
                data_bytes = data_bytes.max(simd_size_bits(s) / 8);
            }
            Operand::Register(SizeCode::X, _) if gp_bytes == 0 => gp_bytes = 8,
            Operand::Register(SizeCode::W, _) if gp_bytes == 0 => gp_bytes = 4,
            Operand::RegPreIndex(rn, _, _)
            | Operand::RegPostIndex(rn, _)
            | Operand::RegPostIndexReg(rn, _)
                if rn != 31 =>
            {
                insn.stream = 1 << 31 | rn as u32;
            }
            Operand::RegRegOffset(rn, ..) if rn != 31 => {
                insn.stream = 1 << 31 | rn as u32;
            }
            _ => {}
        }
    }
    insn.simd = vector || scalar_fp;
    insn.ext = if is_crypto(op) {
        "crypto"
    } else if vector {
        "neon"
    } else if scalar_fp {
        "fp"
    } else {
        "base"
    };
    if !vector {
        insn.vector_bits = 0;
    }
    let (r, w) = mem_access(op);
    insn.mem_read = r;
    insn.mem_write = w;
    if r || w {
        let pair = matches!(
            op,
            Opcode::LDP | Opcode::STP | Opcode::LDNP | Opcode::STNP | Opcode::LDPSW
        );
        let mut bytes = if insn.simd { data_bytes } else { gp_bytes };
        bytes = match op {
            Opcode::LDRB
            | Opcode::LDRSB
            | Opcode::STRB
            | Opcode::LDURB
            | Opcode::STURB
            | Opcode::LDURSB => 1,
            Opcode::LDRH
            | Opcode::LDRSH
            | Opcode::STRH
            | Opcode::LDURH
            | Opcode::STURH
            | Opcode::LDURSH => 2,
            Opcode::LDRSW | Opcode::LDURSW | Opcode::LDPSW => 4,
            _ => bytes,
        };
        insn.mem_bytes = if pair { bytes * 2 } else { bytes };
    } else {
        insn.stream = 0;
    }
    insn.group = if insn.simd { group(op) } else { Group::Other };
    insn.cat = categorize(insn.group, insn.simd, r, w, insn.flow);
    let flags_only = matches!(
        op,
        Opcode::FCMP | Opcode::FCMPE | Opcode::FCCMP | Opcode::FCCMPE
    );
    if !w && !flags_only {
        // Destinations: operand 0, the second register of a pair load, every register of a
        // multi-register load (`ld1 {v0.4s-v3.4s}`).
        let pair_load = r && matches!(op, Opcode::LDP | Opcode::LDNP);
        for o in inst.operands.iter().take(if pair_load { 2 } else { 1 }) {
            if let Operand::SIMDRegisterGroup(_, base, _, n) = *o {
                for j in 0..n as u16 {
                    insn.dst_mask |= 1 << ((base + j) & 31);
                }
            } else if let Some(d) = simd_reg(o) {
                insn.dst_mask |= 1 << d;
            }
        }
    }
    if insn.simd && matches!(insn.group, Group::Add | Group::Fma) {
        if let Some(dst) = simd_reg(&inst.operands[0]) {
            let always_reads = insn.group == Group::Fma
                && !matches!(
                    op,
                    Opcode::FMADD | Opcode::FMSUB | Opcode::FNMADD | Opcode::FNMSUB
                );
            if always_reads || inst.operands[1..].iter().any(|o| simd_reg(o) == Some(dst)) {
                insn.acc_reg = dst;
            }
        }
    }
    insn
}
