//! AArch64 effects from yaxpeax-arm's opcode and operand kinds.

use yaxpeax_arm::armv8::a64::{Instruction as A64Insn, Opcode, Operand, ShiftStyle};

use super::{Affine, Effect, Lineage, Mem, Writeback, MEM_SRC};
use crate::insn::Flow;

fn a64_reg(o: &Operand) -> Option<u8> {
    match *o {
        Operand::Register(_, r) | Operand::RegShift(_, _, _, r) if r < 31 => Some(r as u8),
        Operand::RegisterOrSP(_, r) => Some(r.min(31) as u8),
        Operand::SIMDRegister(_, r)
        | Operand::SIMDRegisterElements(_, r, _)
        | Operand::SIMDRegisterElementsLane(_, r, _, _)
        | Operand::SIMDRegisterElementsMultipleLane(_, r, _, _, _)
        | Operand::SIMDRegisterGroupLane(r, _, _, _) => Some(32 + (r & 31) as u8),
        _ => None,
    }
}

/// Every register an operand names (register groups name several).
fn a64_regs(o: &Operand) -> u64 {
    match *o {
        Operand::SIMDRegisterGroup(_, r, _, n) => {
            (0..n as u16).fold(0, |m, j| m | 1u64 << (32 + ((r + j) & 31)))
        }
        Operand::RegisterPair(_, r) if r < 31 => 1 << r | 1 << ((r + 1) & 31),
        _ => a64_reg(o).map(|r| 1u64 << r).unwrap_or(0),
    }
}

fn a64_imm(o: &Operand) -> Option<i64> {
    match *o {
        Operand::Immediate(v) => Some(v as i64),
        Operand::Imm64(v) => Some(v as i64),
        Operand::Imm16(v) => Some(v as i64),
        Operand::ImmShift(v, s) => Some((v as i64) << s),
        _ => None,
    }
}

pub(super) fn effect(addr: u64, inst: Option<&A64Insn>) -> Effect {
    let mut e = Effect::new(addr);
    let Some(inst) = inst else {
        return e;
    };
    let op = inst.opcode;
    e.flow = crate::arm64_tables::flow(op);
    let (r, w) = crate::arm64_tables::mem_access(op);
    let ops: Vec<&Operand> = inst
        .operands
        .iter()
        .filter(|o| !matches!(o, Operand::Nothing))
        .collect();
    for o in &ops {
        if let Operand::PCOffset(off) = o {
            e.target = addr.wrapping_add(*off as u64);
        }
    }
    // Memory operand.
    for o in &ops {
        let (base, index, scale, disp, wb) = match **o {
            Operand::RegPreIndex(rn, off, wb) => (
                rn,
                None,
                1,
                off as i64,
                if wb {
                    Writeback::Pre(off as i64)
                } else {
                    Writeback::None
                },
            ),
            Operand::RegPostIndex(rn, off) => (rn, None, 1, 0, Writeback::Post(off as i64)),
            Operand::RegPostIndexReg(rn, rm) => {
                e.reads |= 1 << (rm & 31);
                (rn, None, 1, 0, Writeback::PostReg)
            }
            // `[xN, xM, lsl #s]` (or a sign/zero-extended `wM`): index scaled by 2^s.
            Operand::RegRegOffset(rn, rm, _, _, amt) => (
                rn,
                (rm < 31).then_some(rm as u8),
                1u8 << amt.min(7),
                0,
                Writeback::None,
            ),
            Operand::PCOffset(_) if r || w => {
                e.mem = Some(Mem {
                    base: None,
                    index: None,
                    scale: 1,
                    disp: 0,
                    bytes: 0,
                    read: r,
                    write: w,
                    pc_rel: true,
                    vector_index: false,
                    writeback: Writeback::None,
                });
                continue;
            }
            _ => continue,
        };
        let base = base.min(31) as u8;
        e.addr_regs |= 1 << base;
        if let Some(x) = index {
            e.addr_regs |= 1 << x;
        }
        if !matches!(wb, Writeback::None) {
            e.writes |= 1 << base;
        }
        if r || w {
            e.mem = Some(Mem {
                base: Some(base),
                index,
                scale,
                disp,
                bytes: 0, // set by `effects` from the instruction facts
                read: r,
                write: w,
                pc_rel: false,
                vector_index: false,
                writeback: wb,
            });
        }
    }
    let data: Vec<&&Operand> = ops
        .iter()
        .filter(|o| {
            !matches!(
                o,
                Operand::RegPreIndex(..)
                    | Operand::RegPostIndex(..)
                    | Operand::RegPostIndexReg(..)
                    | Operand::RegRegOffset(..)
            )
        })
        .collect();
    let pair = matches!(
        op,
        Opcode::LDP | Opcode::LDNP | Opcode::LDPSW | Opcode::LDXP | Opcode::LDAXP
    );
    let no_dest =
        w || matches!(
            e.flow,
            Flow::CondJump | Flow::IndirectJump | Flow::IndirectCall | Flow::Return
        ) || matches!(
            op,
            Opcode::CCMP
                | Opcode::CCMN
                | Opcode::FCMP
                | Opcode::FCMPE
                | Opcode::FCCMP
                | Opcode::FCCMPE
                | Opcode::PRFM
                | Opcode::PRFUM
                | Opcode::MSR
        );
    if matches!(
        op,
        Opcode::LDP | Opcode::LDNP | Opcode::LDPSW | Opcode::STP | Opcode::STNP
    ) && data.len() >= 2
    {
        if let (Some(a), Some(b)) = (a64_reg(data[0]), a64_reg(data[1])) {
            e.pair = Some((a, b));
        }
    }
    let ndst = if no_dest {
        0
    } else if r && pair {
        2
    } else {
        1
    };
    for (k, o) in data.iter().enumerate() {
        let m = a64_regs(o);
        if k < ndst {
            e.writes |= m;
        } else {
            e.reads |= m;
        }
    }
    if matches!(e.flow, Flow::Call | Flow::IndirectCall) {
        e.writes |= 1 << 30;
    }
    e.affine = a64_affine(op, &data);
    // Sources in operand order; the memory operand where it stands.
    let mut k = 0;
    for o in &ops {
        let is_mem = matches!(
            o,
            Operand::RegPreIndex(..)
                | Operand::RegPostIndex(..)
                | Operand::RegPostIndexReg(..)
                | Operand::RegRegOffset(..)
        );
        if is_mem {
            if r {
                e.push_src(MEM_SRC);
            }
            continue;
        }
        if k >= ndst {
            if let Some(reg) = a64_reg(o) {
                e.push_src(reg);
            }
        }
        k += 1;
    }
    e.lineage = a64_lineage(op, &data);
    // `madd xd, xn, xm, xa` = xa + xn·xm: only the addend can carry a pointer.
    if matches!(
        op,
        Opcode::MADD | Opcode::MSUB | Opcode::SMADDL | Opcode::UMADDL
    ) {
        e.nsrcs = 0;
        if let Some(a) = data.get(3).and_then(|o| a64_reg(o)) {
            e.push_src(a);
        }
        e.lineage = Lineage::First;
    }
    e
}

fn a64_lineage(op: Opcode, data: &[&&Operand]) -> Lineage {
    use Opcode as O;
    match op {
        O::CSEL | O::CSINC | O::CSINV | O::CSNEG | O::BSL | O::BIT | O::BIF => Lineage::Union,
        O::UBFM
        | O::SBFM
        | O::LSLV
        | O::LSRV
        | O::ASRV
        | O::RORV
        | O::UDIV
        | O::SDIV
        | O::SMULH
        | O::UMULH
        | O::CLZ
        | O::CLS
        | O::RBIT
        | O::REV
        | O::REV16
        | O::REV32
        | O::EOR
        | O::ORN
        | O::EON
        | O::BIC
        | O::BICS => Lineage::Drop,
        // `p & 31` is an integer (alignment); `p & ~31` is still the pointer.
        O::AND | O::ANDS => match data.get(2).and_then(|o| a64_imm(o)) {
            Some(v) if (0..1 << 20).contains(&v) => Lineage::Drop,
            _ => Lineage::First,
        },
        _ if crate::arm64_tables::group(op) == crate::insn::Group::Arith => Lineage::Drop,
        _ => Lineage::First,
    }
}

fn a64_affine(op: Opcode, data: &[&&Operand]) -> Option<Affine> {
    if data.len() < 2 {
        return None;
    }
    let dst = a64_reg(data[0]).filter(|&r| r < 32)?;
    match op {
        // The flag-setting forms count too (`subs x1, x1, #1`: a loop counter); their `xzr`
        // destination (`cmp`) is no register here, so `a64_reg` already refused it.
        Opcode::ADD | Opcode::SUB | Opcode::ADDS | Opcode::SUBS if data.len() == 3 => {
            let src = a64_reg(data[1]).filter(|&r| r < 32)?;
            let v = a64_imm(data[2])?;
            Some(Affine {
                dst,
                src,
                mul: 1,
                add: if matches!(op, Opcode::SUB | Opcode::SUBS) {
                    -v
                } else {
                    v
                },
            })
        }
        // `mov xD, xM` is `orr xD, xzr, xM`.
        Opcode::ORR if data.len() == 3 => match (*data[1], *data[2]) {
            (Operand::Register(_, 31), Operand::RegShift(ShiftStyle::LSL, 0, _, m)) if *m < 31 => {
                Some(Affine {
                    dst,
                    src: *m as u8,
                    mul: 1,
                    add: 0,
                })
            }
            (Operand::Register(_, 31), Operand::Register(_, m)) if *m < 31 => Some(Affine {
                dst,
                src: *m as u8,
                mul: 1,
                add: 0,
            }),
            _ => None,
        },
        _ => None,
    }
}
