//! x86-64 decoding (iced-x86): objdump-compatible text, and per-instruction facts from iced's
//! metadata (cpuid features, flow control, operand kinds, memory size, InstructionInfo).
//!
//! Normalisations so the output agrees with GNU objdump (documented in the README):
//! - `fwait` followed by `fnstsw`/`fnstcw`/`fnstenv`/`fnsave`/`fnclex`/`fninit` is one
//!   instruction (`fstsw`, …) at the `fwait` address, as objdump prints it;
//! - branch targets print as `addr <sym+off>`, RIP-relative operands get objdump's
//!   `# addr <sym+off>` comment;
//! - undecodable bytes print as `(bad)` and advance one byte.

use std::fmt::Write as _;

use iced_x86::{
    Code, CpuidFeature, Decoder, DecoderOptions, FlowControl, Formatter, GasFormatter, Instruction,
    InstructionInfoFactory, IntelFormatter, MemorySize, Mnemonic, OpAccess, OpKind, Register,
};

use crate::disasm::{push_addr, push_hex_byte, Symbolizer};
use crate::insn::{categorize, Flow, Group, Insn};
use crate::x86_tables::group;

/// One decoded unit: an iced instruction, or a fused `fwait`+`fnXXX` pair, or a bad byte.
pub(crate) struct Unit {
    pub(crate) instr: Instruction,
    pub(crate) addr: u64,
    pub(crate) len: usize,
    fused: bool,
    pub(crate) bad: bool,
}

fn fusable(m: Mnemonic) -> bool {
    matches!(
        m,
        Mnemonic::Fnstsw
            | Mnemonic::Fnstcw
            | Mnemonic::Fnstenv
            | Mnemonic::Fnsave
            | Mnemonic::Fnclex
            | Mnemonic::Fninit
            | Mnemonic::Fneni
            | Mnemonic::Fndisi
    )
}

/// Decodes `code` (loaded at `addr`) linearly, calling `f` for each unit.
pub(crate) fn walk(code: &[u8], addr: u64, mut f: impl FnMut(&Unit, &[u8])) {
    let mut dec = Decoder::with_ip(64, code, addr, DecoderOptions::NONE);
    let mut instr = Instruction::default();
    let mut next = Instruction::default();
    let mut pos = 0usize;
    while pos < code.len() {
        dec.decode_out(&mut instr);
        let ip = addr + pos as u64;
        if instr.is_invalid() {
            let u = Unit {
                instr,
                addr: ip,
                len: 1,
                fused: false,
                bad: true,
            };
            f(&u, &code[pos..pos + 1]);
            pos += 1;
            // Re-synchronise one byte later, as objdump does after `(bad)`.
            if dec.set_position(pos).is_err() {
                break;
            }
            dec.set_ip(addr + pos as u64);
            continue;
        }
        let mut len = instr.len();
        let mut fused = false;
        if instr.mnemonic() == Mnemonic::Wait && pos + len < code.len() {
            let save = dec.position();
            dec.decode_out(&mut next);
            if !next.is_invalid() && fusable(next.mnemonic()) {
                instr = next;
                len += next.len();
                fused = true;
            } else {
                let _ = dec.set_position(save);
                dec.set_ip(addr + save as u64);
            }
        }
        let u = Unit {
            instr,
            addr: ip,
            len,
            fused,
            bad: false,
        };
        f(&u, &code[pos..pos + len]);
        pos += len;
    }
}

/// Syntax of x86 text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Att,
    Intel,
}

enum Fmt {
    Gas(Box<GasFormatter>),
    Intel(Box<IntelFormatter>),
}

impl Fmt {
    fn new(syntax: Syntax) -> Fmt {
        let mut f: Fmt = match syntax {
            Syntax::Att => Fmt::Gas(Box::new(GasFormatter::new())),
            Syntax::Intel => Fmt::Intel(Box::new(IntelFormatter::new())),
        };
        let o = f.opts();
        o.set_uppercase_hex(false);
        o.set_first_operand_char_index(7);
        o.set_rip_relative_addresses(true);
        o.set_show_useless_prefixes(true);
        o.set_show_zero_displacements(true);
        o.set_always_show_scale(true);
        o.set_small_hex_numbers_in_decimal(false);
        o.set_branch_leading_zeros(false);
        o.set_memory_size_options(iced_x86::MemorySizeOptions::Always);
        if syntax == Syntax::Att {
            o.set_memory_size_options(iced_x86::MemorySizeOptions::Default);
        } else {
            // objdump -M intel: `0x10`, `ZMMWORD PTR`.
            o.set_hex_prefix("0x");
            o.set_hex_suffix("");
            o.set_uppercase_keywords(true);
        }
        f
    }
    fn opts(&mut self) -> &mut iced_x86::FormatterOptions {
        match self {
            Fmt::Gas(g) => g.options_mut(),
            Fmt::Intel(i) => i.options_mut(),
        }
    }
    fn format(&mut self, i: &Instruction, out: &mut String) {
        match self {
            Fmt::Gas(g) => g.format(i, out),
            Fmt::Intel(x) => x.format(i, out),
        }
    }
    fn is_intel(&self) -> bool {
        matches!(self, Fmt::Intel(_))
    }
    fn mnemonic(&mut self, i: &Instruction, out: &mut String) {
        match self {
            Fmt::Gas(g) => g.format_mnemonic(i, out),
            Fmt::Intel(x) => x.format_mnemonic(i, out),
        }
    }
}

fn is_near_branch(i: &Instruction) -> bool {
    i.op_count() == 1
        && matches!(
            i.op0_kind(),
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
        )
}

/// Text for one unit: mnemonic + operands (+ objdump's RIP-relative comment).
fn unit_text(
    u: &Unit,
    bytes: &[u8],
    fmt: &mut Fmt,
    syms: &dyn Symbolizer,
    label: Option<&str>,
    s: &mut String,
) {
    s.clear();
    if u.bad {
        s.push_str("(bad)");
        return;
    }
    let i = &u.instr;
    if is_near_branch(i) {
        fmt.mnemonic(i, s);
        if u.fused {
            fix_fused(s);
        }
        while s.len() < 7 {
            s.push(' ');
        }
        if !s.ends_with(' ') {
            s.push(' ');
        }
        let t = i.near_branch_target();
        match label {
            Some(l) => s.push_str(l),
            None => {
                let _ = write!(s, "{t:x}");
                syms.append_label(t, s);
            }
        }
        return;
    }
    fmt.format(i, s);
    if u.fused {
        fix_fused(s);
    }
    objdump_prefixes(i, bytes, s);
    // objdump -M intel calls a move with a 64-bit immediate or absolute address `movabs`.
    if fmt.is_intel()
        && i.mnemonic() == Mnemonic::Mov
        && (i.op1_kind() == OpKind::Immediate64
            || matches!(
                i.code(),
                Code::Mov_AL_moffs8
                    | Code::Mov_AX_moffs16
                    | Code::Mov_EAX_moffs32
                    | Code::Mov_RAX_moffs64
                    | Code::Mov_moffs8_AL
                    | Code::Mov_moffs16_AX
                    | Code::Mov_moffs32_EAX
                    | Code::Mov_moffs64_RAX
            ))
        && s.starts_with("mov    ")
    {
        s.replace_range(0..7, "movabs ");
    }
    // iced's always-show-scale leaves `(%rsp,)` when there is no index register.
    let any_mem = (0..i.op_count()).any(|k| {
        !matches!(
            i.op_kind(k),
            OpKind::Register
                | OpKind::Immediate8
                | OpKind::Immediate16
                | OpKind::Immediate32
                | OpKind::Immediate64
                | OpKind::Immediate8to16
                | OpKind::Immediate8to32
                | OpKind::Immediate8to64
                | OpKind::Immediate32to64
                | OpKind::NearBranch64
        )
    });
    if any_mem && i.memory_index() == Register::None {
        while let Some(p) = s.as_bytes().windows(2).position(|w| w == b",)") {
            s.remove(p);
        }
    }
    if label.is_none() && i.is_ip_rel_memory_operand() {
        let t = i.ip_rel_memory_address();
        let _ = write!(s, "        # {t:x}");
        syms.append_label(t, s);
    }
}

/// objdump's spelling of prefixes that have no effect in 64-bit mode: a `cs`/`ds`/`es`/`ss`
/// override is printed as a prefix word (not `%cs:` in the operand), a repeated operand-size
/// prefix on `nopw` as `data16`, and `push`/`pop`/`call`/`jmp` with a memory operand drop
/// iced's `q` suffix (64-bit is implied).
fn objdump_prefixes(i: &Instruction, bytes: &[u8], s: &mut String) {
    let has_mem = (0..i.op_count()).any(|k| i.op_kind(k) == OpKind::Memory);
    if has_mem {
        let m = i.mnemonic();
        if matches!(
            m,
            Mnemonic::Push | Mnemonic::Pop | Mnemonic::Call | Mnemonic::Jmp
        ) {
            for (q, plain) in [
                ("pushq ", "push  "),
                ("popq ", "pop  "),
                ("callq ", "call  "),
                ("jmpq ", "jmp  "),
            ] {
                if let Some(p) = s.find(q) {
                    s.replace_range(p..p + q.len(), plain);
                    break;
                }
            }
        }
        let seg = match i.segment_prefix() {
            Register::CS => Some("cs"),
            Register::DS => Some("ds"),
            Register::ES => Some("es"),
            Register::SS => Some("ss"),
            _ => None,
        };
        if let Some(seg) = seg {
            // AT&T `%cs:(…)`, Intel `cs:[…]`.
            let att = format!("%{seg}:");
            let pat = if s.contains(&att) {
                att
            } else {
                format!("{seg}:")
            };
            if let Some(p) = s.find(&pat) {
                s.replace_range(p..p + pat.len(), "");
                // Re-pad: `cs nopw 0x0(...)` — the prefix word shifts the mnemonic, one space after.
                let body = std::mem::take(s);
                let (mn, rest) = body.split_once(' ').unwrap_or((&body, ""));
                s.push_str(seg);
                s.push(' ');
                s.push_str(mn);
                let rest = rest.trim_start();
                if !rest.is_empty() {
                    s.push(' ');
                    s.push_str(rest);
                }
            }
        }
        if m == Mnemonic::Nop {
            let n66 = bytes
                .iter()
                .take_while(|&&b| {
                    matches!(
                        b,
                        0x66 | 0x2e | 0x3e | 0x26 | 0x36 | 0x64 | 0x65 | 0xf2 | 0xf3 | 0xf0 | 0x67
                    )
                })
                .filter(|&&b| b == 0x66)
                .count();
            for _ in 1..n66 {
                s.insert_str(0, "data16 ");
            }
        }
    }
}

/// `fnstsw` → `fstsw` (the fused form objdump prints), keeping the operand column.
fn fix_fused(s: &mut String) {
    let body = std::mem::take(s);
    let (mn, rest) = body.split_once(' ').unwrap_or((&body, ""));
    s.push_str(&mn.replacen("fn", "f", 1));
    let rest = rest.trim_start();
    if !rest.is_empty() {
        while s.len() < 6 {
            s.push(' ');
        }
        s.push(' ');
        s.push_str(rest);
    }
}

/// Appends objdump-style lines (`addr:\tbytes\ttext`) for `code` at `addr` to `out`.
pub fn format_region(
    code: &[u8],
    addr: u64,
    width: usize,
    syntax: Syntax,
    syms: &dyn Symbolizer,
    out: &mut Vec<u8>,
) {
    let mut fmt = Fmt::new(syntax);
    let mut text = String::with_capacity(128);
    walk(code, addr, |u, bytes| {
        unit_text(u, bytes, &mut fmt, syms, None, &mut text);
        push_addr(out, u.addr, width);
        for k in 0..7 {
            match bytes.get(k) {
                Some(&b) => {
                    push_hex_byte(out, b);
                    out.push(b' ');
                }
                None => out.extend_from_slice(b"   "),
            }
        }
        out.push(b'\t');
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
        let mut k = 7;
        while k < bytes.len() {
            push_addr(out, u.addr + k as u64, width);
            for &b in &bytes[k..(k + 7).min(bytes.len())] {
                push_hex_byte(out, b);
                out.push(b' ');
            }
            out.push(b'\n');
            k += 7;
        }
    });
}

/// Plain AT&T lines for llvm-mca, with each instruction's address; a direct branch to `t`
/// jumps to `label(t)` (llvm-mca's assembler needs symbolic targets).
pub fn mca_lines(code: &[u8], addr: u64, label: &dyn Fn(u64) -> String) -> Vec<(u64, String)> {
    let mut fmt = Fmt::new(Syntax::Att);
    let mut v = Vec::new();
    let mut s = String::new();
    walk(code, addr, |u, bytes| {
        if u.bad {
            let hex: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
            v.push((u.addr, format!(".byte {}", hex.join(","))));
            return;
        }
        let target = is_near_branch(&u.instr).then(|| label(u.instr.near_branch_target()));
        unit_text(
            u,
            bytes,
            &mut fmt,
            &crate::disasm::NoSymbols,
            Some(target.as_deref().unwrap_or("")),
            &mut s,
        );
        v.push((u.addr, s.split_whitespace().collect::<Vec<_>>().join(" ")));
    });
    v
}

/// Mnemonic of every instruction (as printed) with its address; used by the objdump cross-check.
pub fn mnemonics(
    code: &[u8],
    addr: u64,
    syntax: Syntax,
    syms: &dyn Symbolizer,
) -> Vec<(u64, String)> {
    let mut fmt = Fmt::new(syntax);
    let mut v = Vec::new();
    let mut s = String::new();
    walk(code, addr, |u, bytes| {
        unit_text(u, bytes, &mut fmt, syms, None, &mut s);
        v.push((u.addr, s.clone()));
    });
    v
}

fn feature_rank(f: CpuidFeature) -> Option<(&'static str, u8)> {
    use CpuidFeature as C;
    Some(match f {
        C::FPU | C::FPU287 | C::FPU387 | C::FPU287XL_ONLY | C::FPU387SL_ONLY => ("x87", 1),
        C::MMX => ("MMX", 2),
        C::D3NOW | C::D3NOWEXT => ("3DNow", 3),
        C::SSE => ("SSE", 10),
        C::SSE2 => ("SSE2", 11),
        C::SSE3 => ("SSE3", 12),
        C::SSSE3 => ("SSSE3", 13),
        C::SSE4_1 => ("SSE4.1", 14),
        C::SSE4_2 => ("SSE4.2", 15),
        C::SSE4A => ("SSE4A", 15),
        C::AES => ("AES", 16),
        C::PCLMULQDQ => ("PCLMULQDQ", 16),
        C::SHA => ("SHA", 16),
        C::AVX => ("AVX", 20),
        C::F16C => ("F16C", 21),
        C::FMA => ("FMA", 23),
        C::FMA4 => ("FMA4", 23),
        C::XOP => ("XOP", 23),
        C::AVX2 => ("AVX2", 22),
        C::AVX_VNNI => ("AVX-VNNI", 24),
        C::AVX_IFMA => ("AVX-IFMA", 24),
        C::AVX_NE_CONVERT => ("AVX-NE-CONVERT", 24),
        C::AVX_VNNI_INT8 => ("AVX-VNNI-INT8", 24),
        C::AVX_VNNI_INT16 => ("AVX-VNNI-INT16", 24),
        C::GFNI => ("GFNI", 25),
        C::VAES => ("VAES", 25),
        C::VPCLMULQDQ => ("VPCLMULQDQ", 25),
        C::AVX512VL => ("AVX512VL", 30),
        C::AVX512F => ("AVX512F", 31),
        C::AVX512CD => ("AVX512CD", 32),
        C::AVX512BW => ("AVX512BW", 32),
        C::AVX512DQ => ("AVX512DQ", 32),
        C::AVX512ER => ("AVX512ER", 32),
        C::AVX512PF => ("AVX512PF", 32),
        C::AVX512_IFMA => ("AVX512-IFMA", 33),
        C::AVX512_VBMI => ("AVX512-VBMI", 33),
        C::AVX512_VBMI2 => ("AVX512-VBMI2", 33),
        C::AVX512_VNNI => ("AVX512-VNNI", 33),
        C::AVX512_BITALG => ("AVX512-BITALG", 33),
        C::AVX512_VPOPCNTDQ => ("AVX512-VPOPCNTDQ", 33),
        C::AVX512_BF16 => ("AVX512-BF16", 33),
        C::AVX512_FP16 => ("AVX512-FP16", 33),
        C::AVX512_VP2INTERSECT => ("AVX512-VP2INTERSECT", 33),
        C::AVX512_4FMAPS => ("AVX512-4FMAPS", 33),
        C::AVX512_4VNNIW => ("AVX512-4VNNIW", 33),
        C::AMX_BF16 | C::AMX_TILE | C::AMX_INT8 | C::AMX_FP16 | C::AMX_COMPLEX => ("AMX", 34),
        _ => return None,
    })
}

/// Extension label: the most specific SIMD/FP feature iced lists for this instruction.
fn extension(i: &Instruction) -> Option<&'static str> {
    let mut best: Option<(&'static str, u8)> = None;
    for &f in i.cpuid_features() {
        if let Some((n, r)) = feature_rank(f) {
            // AVX512VL only says "also on xmm/ymm"; prefer the feature that names the operation.
            if best.is_none_or(|(_, br)| r > br) {
                best = Some((n, r));
            }
        }
    }
    best.map(|b| b.0)
}

fn reg_bits(r: Register) -> (bool, u16) {
    if r.is_zmm() {
        (true, 512)
    } else if r.is_ymm() {
        (true, 256)
    } else if r.is_xmm() {
        (true, 128)
    } else if r.is_mm() {
        (true, 64)
    } else if r.is_k() || r.is_st() {
        (true, 0)
    } else {
        (false, 0)
    }
}

/// 0..=31 for xmm/ymm/zmm registers (same number for all three widths).
fn zmm_index(r: Register) -> u16 {
    (r.full_register() as u32).wrapping_sub(Register::ZMM0 as u32) as u16 & 63
}

/// Facts for every instruction in `code` at `addr`.
pub fn decode_facts(code: &[u8], addr: u64, out: &mut Vec<Insn>) {
    let mut info = InstructionInfoFactory::new();
    walk(code, addr, |u, _| out.push(facts(u, &mut info)));
}

fn facts(u: &Unit, info: &mut InstructionInfoFactory) -> Insn {
    let mut insn = Insn::undecoded(u.addr, u.len as u8, "undecoded");
    if u.bad {
        return insn;
    }
    let i = &u.instr;
    insn.flow = match i.flow_control() {
        FlowControl::Next => Flow::Next,
        FlowControl::ConditionalBranch => Flow::CondJump,
        FlowControl::UnconditionalBranch => Flow::Jump,
        FlowControl::IndirectBranch => Flow::IndirectJump,
        FlowControl::Call => Flow::Call,
        FlowControl::IndirectCall => Flow::IndirectCall,
        FlowControl::Return => Flow::Return,
        _ => Flow::Other,
    };
    if is_near_branch(i) {
        insn.target = i.near_branch_target();
    }
    let mut simd = false;
    let mut vbits = 0u16;
    let mut has_mem = false;
    let mut has_reg = false;
    for k in 0..i.op_count() {
        match i.op_kind(k) {
            OpKind::Register => {
                has_reg = true;
                let (v, b) = reg_bits(i.op_register(k));
                simd |= v;
                vbits = vbits.max(b);
            }
            OpKind::Memory => has_mem = true,
            _ => {}
        }
    }
    let ext = extension(i);
    // SIMD/FP instructions without register operands (e.g. `ldmxcsr`, `fld m64`) still count;
    // ones with only general-purpose registers (`crc32`, `movnti`) do not.
    simd |= ext.is_some() && !has_reg;
    insn.simd = simd;
    insn.ext = match ext {
        // x87 control instructions (`fnstsw %ax`) have only GP operands but are still x87.
        Some("x87") => "x87",
        Some(e) if simd => e,
        None if simd => "SIMD-other",
        _ => "base",
    };
    let ms: MemorySize = i.memory_size();
    let msize = ms.size();
    if simd {
        let packed = ms.is_packed() || (msize >= 16 && !ms.is_broadcast()) || msize == 0;
        insn.vector_bits = if packed { vbits } else { 0 };
        insn.elem_bits = if ms.is_packed() || msize <= 8 {
            (ms.element_size() * 8) as u16
        } else {
            0
        };
    }
    if has_mem {
        let inf = info.info(i);
        for m in inf.used_memory() {
            match m.access() {
                OpAccess::Read | OpAccess::CondRead => insn.mem_read = true,
                OpAccess::Write | OpAccess::CondWrite => insn.mem_write = true,
                OpAccess::ReadWrite | OpAccess::ReadCondWrite => {
                    insn.mem_read = true;
                    insn.mem_write = true;
                }
                _ => {}
            }
        }
        if insn.mem_read || insn.mem_write {
            insn.mem_bytes = msize.min(u16::MAX as usize) as u16;
            // Stream = base register (the index is usually a counter shared by all streams).
            let base = i.memory_base();
            let key = if base == Register::None {
                i.memory_index()
            } else {
                base
            };
            if !matches!(
                key,
                Register::None | Register::RIP | Register::EIP | Register::RSP | Register::ESP
            ) {
                insn.stream = 1 << 31 | key as u32;
            }
        }
    }
    insn.group = if simd {
        group(i.mnemonic())
    } else {
        Group::Other
    };
    insn.cat = categorize(insn.group, simd, insn.mem_read, insn.mem_write, insn.flow);
    if simd && i.op0_kind() == OpKind::Register && reg_bits(i.op0_register()).1 >= 128 {
        // Flag-only compares/tests read their first operand.
        let reads_only = matches!(
            i.mnemonic(),
            Mnemonic::Ptest
                | Mnemonic::Vptest
                | Mnemonic::Vtestps
                | Mnemonic::Vtestpd
                | Mnemonic::Comiss
                | Mnemonic::Comisd
                | Mnemonic::Ucomiss
                | Mnemonic::Ucomisd
                | Mnemonic::Vcomiss
                | Mnemonic::Vcomisd
                | Mnemonic::Vucomiss
                | Mnemonic::Vucomisd
        );
        if !reads_only {
            insn.dst_mask = 1 << zmm_index(i.op0_register());
        }
    }
    if simd && matches!(insn.group, Group::Add | Group::Fma) && i.op0_kind() == OpKind::Register {
        let dst = i.op0_register();
        if reg_bits(dst).1 >= 128 {
            let full = dst.full_register();
            let reads_dst = insn.group == Group::Fma
                || i.op_count() == 2
                || (1..i.op_count()).any(|k| {
                    i.op_kind(k) == OpKind::Register && i.op_register(k).full_register() == full
                });
            if reads_dst {
                insn.acc_reg = zmm_index(full);
            }
        }
    }
    insn
}
