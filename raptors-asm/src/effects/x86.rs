//! x86-64 effects from iced-x86's `InstructionInfoFactory` and operand kinds.

use iced_x86::{InstructionInfoFactory, Mnemonic, OpAccess, OpKind, Register};

use super::{Affine, Effect, Lineage, Mem, Writeback, MEM_SRC};
use crate::insn::Flow;

fn x86_reg(r: Register) -> Option<u8> {
    if r == Register::None {
        return None;
    }
    let f = r.full_register();
    let n = f as u32;
    if (Register::RAX as u32..=Register::R15 as u32).contains(&n) {
        return Some((n - Register::RAX as u32) as u8);
    }
    if (Register::ZMM0 as u32..=Register::ZMM31 as u32).contains(&n) {
        return Some(16 + (n - Register::ZMM0 as u32) as u8);
    }
    None
}

pub(super) fn effect(u: &crate::x86::Unit, info: &mut InstructionInfoFactory) -> Effect {
    let mut e = Effect::new(u.addr);
    if u.bad {
        return e;
    }
    let i = &u.instr;
    e.flow = match i.flow_control() {
        iced_x86::FlowControl::Next => Flow::Next,
        iced_x86::FlowControl::ConditionalBranch => Flow::CondJump,
        iced_x86::FlowControl::UnconditionalBranch => Flow::Jump,
        iced_x86::FlowControl::IndirectBranch => Flow::IndirectJump,
        iced_x86::FlowControl::Call => Flow::Call,
        iced_x86::FlowControl::IndirectCall => Flow::IndirectCall,
        iced_x86::FlowControl::Return => Flow::Return,
        _ => Flow::Other,
    };
    if matches!(
        i.op0_kind(),
        OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64
    ) {
        e.target = i.near_branch_target();
    }
    let inf = info.info(i);
    if let Some(m) = inf
        .used_memory()
        .iter()
        .find(|m| !matches!(m.access(), OpAccess::None | OpAccess::NoMemAccess))
    {
        let read = matches!(
            m.access(),
            OpAccess::Read | OpAccess::CondRead | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
        let write = matches!(
            m.access(),
            OpAccess::Write | OpAccess::CondWrite | OpAccess::ReadWrite | OpAccess::ReadCondWrite
        );
        // iced resolves RIP-relative operands to absolute addresses (base `None`).
        let pc_rel =
            i.is_ip_rel_memory_operand() || matches!(m.base(), Register::RIP | Register::EIP);
        let vector_index =
            m.index() != Register::None && x86_reg(m.index()).is_none_or(|r| r >= 16);
        let mem = Mem {
            base: x86_reg(m.base()),
            index: if vector_index {
                None
            } else {
                x86_reg(m.index())
            },
            scale: m.scale() as u8,
            // RIP-relative displacements are absolute addresses: keep them out of offsets.
            disp: if pc_rel { 0 } else { m.displacement() as i64 },
            bytes: m.memory_size().size() as u32,
            read,
            write,
            pc_rel,
            vector_index,
            writeback: Writeback::None,
        };
        for r in [mem.base, mem.index].into_iter().flatten() {
            e.addr_regs |= 1 << r;
        }
        e.mem = Some(mem);
    }
    for ur in inf.used_registers() {
        let Some(r) = x86_reg(ur.register()) else {
            continue;
        };
        match ur.access() {
            OpAccess::Read | OpAccess::CondRead => e.reads |= 1 << r,
            OpAccess::Write | OpAccess::CondWrite => e.writes |= 1 << r,
            OpAccess::ReadWrite | OpAccess::ReadCondWrite => {
                e.reads |= 1 << r;
                e.writes |= 1 << r;
            }
            _ => {}
        }
    }
    // Address registers are not data (a load's value does not come from its pointer), unless the
    // instruction also reads them as an operand.
    if e.mem.is_some() {
        let operand_regs = (0..i.op_count())
            .filter(|&k| i.op_kind(k) == OpKind::Register)
            .filter_map(|k| x86_reg(i.op_register(k)))
            .fold(0u64, |m, r| m | 1 << r);
        e.reads &= !(e.addr_regs & !operand_regs);
    }
    e.affine = x86_affine(i);
    let op0_written_only = matches!(inf.op_access(0), OpAccess::Write | OpAccess::CondWrite);
    for k in 0..i.op_count() {
        match i.op_kind(k) {
            OpKind::Register if k > 0 || !op0_written_only => {
                if let Some(r) = x86_reg(i.op_register(k)) {
                    e.push_src(r);
                }
            }
            OpKind::Memory if i.mnemonic() == Mnemonic::Lea => {
                for r in [i.memory_base(), i.memory_index()] {
                    if let Some(r) = x86_reg(r) {
                        e.push_src(r);
                    }
                }
            }
            OpKind::Memory if e.mem.is_some_and(|m| m.read) => e.push_src(MEM_SRC),
            _ => {}
        }
    }
    // Masked stores (`vpmaskmovq %data,%mask,(mem)`): the stored value is the last operand.
    if matches!(
        i.mnemonic(),
        Mnemonic::Vpmaskmovd | Mnemonic::Vpmaskmovq | Mnemonic::Vmaskmovps | Mnemonic::Vmaskmovpd
    ) && e.mem.is_some_and(|m| m.write)
    {
        if let Some(r) = x86_reg(i.op_register(i.op_count() - 1)) {
            e.nsrcs = 0;
            e.push_src(r);
        }
    }
    e.lineage = x86_lineage(i);
    e
}

fn x86_lineage(i: &iced_x86::Instruction) -> Lineage {
    use Mnemonic as M;
    match i.mnemonic() {
        M::Cmova
        | M::Cmovae
        | M::Cmovb
        | M::Cmovbe
        | M::Cmove
        | M::Cmovg
        | M::Cmovge
        | M::Cmovl
        | M::Cmovle
        | M::Cmovne
        | M::Cmovno
        | M::Cmovnp
        | M::Cmovns
        | M::Cmovo
        | M::Cmovp
        | M::Cmovs => Lineage::Union,
        M::Imul
        | M::Mul
        | M::Mulx
        | M::Div
        | M::Idiv
        | M::Shl
        | M::Shr
        | M::Sar
        | M::Shlx
        | M::Shrx
        | M::Sarx
        | M::Rol
        | M::Ror
        | M::Shld
        | M::Shrd
        | M::Neg
        | M::Not
        | M::Popcnt
        | M::Lzcnt
        | M::Tzcnt
        | M::Bsf
        | M::Bsr
        | M::Movzx
        | M::Movsx
        | M::Movsxd
        | M::Xor => Lineage::Drop,
        // `p & 31` is an integer (alignment); `p & -32` is still the pointer.
        M::And if i.op_count() == 2 && i.op1_kind() != OpKind::Register => {
            if (i.immediate(1) as i64) >= 0 {
                Lineage::Drop
            } else {
                Lineage::First
            }
        }
        M::Vpblendvb | M::Vblendvps | M::Vblendvpd | M::Vpblendd | M::Vpblendmq => Lineage::Union,
        // Vector multiplies, shifts, compares and masks compute integers, not pointers.
        m if matches!(
            crate::x86_tables::group(m),
            crate::insn::Group::Arith | crate::insn::Group::Compare | crate::insn::Group::Logic
        ) =>
        {
            Lineage::Drop
        }
        _ => Lineage::First,
    }
}

fn x86_affine(i: &iced_x86::Instruction) -> Option<Affine> {
    if i.op_count() == 0 || i.op0_kind() != OpKind::Register {
        return None;
    }
    let d0 = i.op0_register();
    if !(d0.is_gpr64() || d0.is_gpr32()) {
        return None;
    }
    let dst = x86_reg(d0)?;
    let imm = |k: u32| -> Option<i64> {
        match i.op_kind(k) {
            OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate8to16
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64 => Some(i.immediate(k) as i64),
            _ => None,
        }
    };
    match (i.mnemonic(), i.op_count()) {
        (Mnemonic::Add, 2) => imm(1).map(|v| Affine {
            dst,
            src: dst,
            mul: 1,
            add: v,
        }),
        (Mnemonic::Sub, 2) => imm(1).map(|v| Affine {
            dst,
            src: dst,
            mul: 1,
            add: v.wrapping_neg(),
        }),
        (Mnemonic::Inc, 1) => Some(Affine {
            dst,
            src: dst,
            mul: 1,
            add: 1,
        }),
        (Mnemonic::Dec, 1) => Some(Affine {
            dst,
            src: dst,
            mul: 1,
            add: -1,
        }),
        // `shl $k, r`: an index scaled to bytes (a 64-bit shift only: a 32-bit one truncates).
        (Mnemonic::Shl, 2) if d0.is_gpr64() => {
            imm(1).filter(|&k| (1..=16).contains(&k)).map(|k| Affine {
                dst,
                src: dst,
                mul: 1 << k,
                add: 0,
            })
        }
        (Mnemonic::Mov, 2) if i.op1_kind() == OpKind::Register => {
            let s = i.op1_register();
            if s.is_gpr64() || s.is_gpr32() {
                Some(Affine {
                    dst,
                    src: x86_reg(s)?,
                    mul: 1,
                    add: 0,
                })
            } else {
                None
            }
        }
        (Mnemonic::Lea, 2) => {
            let (b, x) = (i.memory_base(), i.memory_index());
            let disp = i.memory_displacement64() as i64;
            match (b, x) {
                (Register::RIP | Register::EIP, _) => None,
                (b, Register::None) if b != Register::None => Some(Affine {
                    dst,
                    src: x86_reg(b)?,
                    mul: 1,
                    add: disp,
                }),
                (Register::None, x) => Some(Affine {
                    dst,
                    src: x86_reg(x)?,
                    mul: i.memory_index_scale() as i64,
                    add: disp,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}
