//! Element-wise binary kernels: `out[i] = a[i] op b[i]` with either side possibly a broadcast scalar.
//!
//! IEEE add/sub/mul/div are correctly rounded per element, so every ISA produces the same bits as
//! the scalar path (no FMA contraction is ever used).

use crate::lanes::Lanes;
use crate::shape::Element;

pub(crate) const ADD: u8 = 0;
pub(crate) const SUB: u8 = 1;
pub(crate) const MUL: u8 = 2;
pub(crate) const DIV: u8 = 3;

/// Below this many elements the alignment peel is skipped (short rows, per-call overhead).
const PEEL_MIN: usize = 128;

/// Both operands are arrays.
pub(crate) const VV: u8 = 0;
/// `b` points at a single scalar.
pub(crate) const VS: u8 = 1;
/// `a` points at a single scalar.
pub(crate) const SV: u8 = 2;

#[inline(always)]
fn op_s<E: Element, const OP: u8>(x: E, y: E) -> E {
    match OP {
        ADD => x + y,
        SUB => x - y,
        MUL => x * y,
        _ => x / y,
    }
}

#[inline(always)]
unsafe fn op_v<V: Lanes, const OP: u8>(x: V, y: V) -> V {
    match OP {
        ADD => V::add(x, y),
        SUB => V::sub(x, y),
        MUL => V::mul(x, y),
        _ => V::div(x, y),
    }
}

/// `out[i] = a[i] OP b[i]` for `i < n`; MODE says whether `a`/`b` is a single broadcast scalar.
/// With `nt`, the body uses non-temporal stores (after peeling `out` to vector alignment) and ends
/// with a fence. `out` may be exactly `a` or `b` (every element is loaded before it is stored).
///
/// # Safety
/// `a`/`b` readable for `n` elements (1 for a scalar operand), `out` writable for `n`; the CPU
/// supports `V`'s target feature.
#[inline(always)]
pub(crate) unsafe fn binary<V: Lanes, const OP: u8, const MODE: u8>(
    a: *const V::E,
    b: *const V::E,
    out: *mut V::E,
    n: usize,
    nt: bool,
) {
    let w = V::W;
    let sa = if MODE == SV {
        *a
    } else {
        <V::E as crate::shape::sealed::Sealed>::ZERO
    };
    let sb = if MODE == VS {
        *b
    } else {
        <V::E as crate::shape::sealed::Sealed>::ZERO
    };
    let va = V::splat(sa);
    let vb = V::splat(sb);
    let lda = |i: usize| if MODE == SV { va } else { V::load(a.add(i)) };
    let ldb = |i: usize| if MODE == VS { vb } else { V::load(b.add(i)) };
    let ea = |i: usize| if MODE == SV { sa } else { *a.add(i) };
    let eb = |i: usize| if MODE == VS { sb } else { *b.add(i) };

    let mut i = 0;
    // Peel to a vector-aligned `out` (always for streaming stores, which need it; otherwise once
    // the peel is cheap against `n`): malloc'd buffers, NumPy's included, sit 16 bytes past a
    // 64-byte boundary, so without it every AVX-512 load and store splits a cache line (measured:
    // ~1.5x slower from L2). Operands allocated the same way become aligned too.
    if w > 1 && (nt || n >= PEEL_MIN) {
        let align = w * std::mem::size_of::<V::E>();
        while i < n && !(out.add(i) as usize).is_multiple_of(align) {
            *out.add(i) = op_s::<V::E, OP>(ea(i), eb(i));
            i += 1;
        }
    }
    if nt && w > 1 {
        while i + 4 * w <= n {
            let r0 = op_v::<V, OP>(lda(i), ldb(i));
            let r1 = op_v::<V, OP>(lda(i + w), ldb(i + w));
            let r2 = op_v::<V, OP>(lda(i + 2 * w), ldb(i + 2 * w));
            let r3 = op_v::<V, OP>(lda(i + 3 * w), ldb(i + 3 * w));
            V::stream(out.add(i), r0);
            V::stream(out.add(i + w), r1);
            V::stream(out.add(i + 2 * w), r2);
            V::stream(out.add(i + 3 * w), r3);
            i += 4 * w;
        }
    }
    while i + 4 * w <= n {
        let r0 = op_v::<V, OP>(lda(i), ldb(i));
        let r1 = op_v::<V, OP>(lda(i + w), ldb(i + w));
        let r2 = op_v::<V, OP>(lda(i + 2 * w), ldb(i + 2 * w));
        let r3 = op_v::<V, OP>(lda(i + 3 * w), ldb(i + 3 * w));
        V::store(out.add(i), r0);
        V::store(out.add(i + w), r1);
        V::store(out.add(i + 2 * w), r2);
        V::store(out.add(i + 3 * w), r3);
        i += 4 * w;
    }
    while i + w <= n {
        V::store(out.add(i), op_v::<V, OP>(lda(i), ldb(i)));
        i += w;
    }
    while i < n {
        *out.add(i) = op_s::<V::E, OP>(ea(i), eb(i));
        i += 1;
    }
    if nt {
        V::fence();
    }
}
