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
    // SAFETY: lane arithmetic only needs `V`'s target feature, which the caller guarantees.
    unsafe {
        match OP {
            ADD => V::add(x, y),
            SUB => V::sub(x, y),
            MUL => V::mul(x, y),
            _ => V::div(x, y),
        }
    }
}

/// The two operands of one call: each an array pointer or a broadcast scalar (MODE decides).
struct Operands<V: Lanes, const MODE: u8> {
    a: *const V::E,
    b: *const V::E,
    /// The broadcast scalar (when MODE says so), as an element and splat to a vector.
    sa: V::E,
    sb: V::E,
    va: V,
    vb: V,
}

impl<V: Lanes, const MODE: u8> Operands<V, MODE> {
    /// # Safety
    /// A broadcast-scalar operand (`a` for `SV`, `b` for `VS`) is readable at its one element; the
    /// CPU supports `V`'s target feature.
    #[inline(always)]
    unsafe fn new(a: *const V::E, b: *const V::E) -> Self {
        let zero = <V::E as crate::shape::sealed::Sealed>::ZERO;
        // SAFETY: each scalar operand is read at its one readable element (caller's contract).
        let (sa, sb) = unsafe {
            (
                if MODE == SV { *a } else { zero },
                if MODE == VS { *b } else { zero },
            )
        };
        // SAFETY: `splat` only needs `V`'s target feature (caller's contract).
        let (va, vb) = unsafe { (V::splat(sa), V::splat(sb)) };
        Operands {
            a,
            b,
            sa,
            sb,
            va,
            vb,
        }
    }

    /// `a[i..i+W] OP b[i..i+W]` (a broadcast scalar stands for every lane).
    ///
    /// # Safety
    /// `i + W <= n`, the length every array operand is readable for; `V`'s feature is available.
    #[inline(always)]
    unsafe fn vector<const OP: u8>(&self, i: usize) -> V {
        // SAFETY: array operands are loaded at i..i+W, inside their n readable elements
        // (caller's contract), and the CPU supports `V` (ditto).
        unsafe {
            let x = if MODE == SV {
                self.va
            } else {
                V::load(self.a.add(i))
            };
            let y = if MODE == VS {
                self.vb
            } else {
                V::load(self.b.add(i))
            };
            op_v::<V, OP>(x, y)
        }
    }

    /// `a[i] OP b[i]`.
    ///
    /// # Safety
    /// `i < n`, the length every array operand is readable for.
    #[inline(always)]
    unsafe fn element<const OP: u8>(&self, i: usize) -> V::E {
        // SAFETY: element i < n of an array operand is readable (caller's contract).
        let (x, y) = unsafe {
            (
                if MODE == SV { self.sa } else { *self.a.add(i) },
                if MODE == VS { self.sb } else { *self.b.add(i) },
            )
        };
        op_s::<V::E, OP>(x, y)
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
    // SAFETY: forwarded contract (scalar operands readable, target feature available).
    let ops = unsafe { Operands::<V, MODE>::new(a, b) };

    let mut i = 0;
    // Peel to a vector-aligned `out` (always for streaming stores, which need it; otherwise once
    // the peel is cheap against `n`): malloc'd buffers, NumPy's included, sit 16 bytes past a
    // 64-byte boundary, so without it every AVX-512 load and store splits a cache line (measured:
    // ~1.5x slower from L2). Operands allocated the same way become aligned too.
    if w > 1 && (nt || n >= PEEL_MIN) {
        let align = w * std::mem::size_of::<V::E>();
        while i < n && !(out.wrapping_add(i) as usize).is_multiple_of(align) {
            // SAFETY: i < n, so element i is readable in the operands and writable in `out`.
            unsafe { *out.add(i) = ops.element::<OP>(i) };
            i += 1;
        }
    }
    if nt && w > 1 {
        while i + 4 * w <= n {
            // SAFETY: i + 4W <= n keeps the four vectors inside every operand and `out`; `out + i`
            // is vector-aligned for `stream` (the peel stopped at an aligned address, which
            // `i == n` would have ended instead, and i advances by whole vectors).
            unsafe {
                let r0 = ops.vector::<OP>(i);
                let r1 = ops.vector::<OP>(i + w);
                let r2 = ops.vector::<OP>(i + 2 * w);
                let r3 = ops.vector::<OP>(i + 3 * w);
                V::stream(out.add(i), r0);
                V::stream(out.add(i + w), r1);
                V::stream(out.add(i + 2 * w), r2);
                V::stream(out.add(i + 3 * w), r3);
            }
            i += 4 * w;
        }
    }
    while i + 4 * w <= n {
        // SAFETY: i + 4W <= n keeps the four vectors inside every operand and `out` (unaligned
        // stores are fine).
        unsafe {
            let r0 = ops.vector::<OP>(i);
            let r1 = ops.vector::<OP>(i + w);
            let r2 = ops.vector::<OP>(i + 2 * w);
            let r3 = ops.vector::<OP>(i + 3 * w);
            V::store(out.add(i), r0);
            V::store(out.add(i + w), r1);
            V::store(out.add(i + 2 * w), r2);
            V::store(out.add(i + 3 * w), r3);
        }
        i += 4 * w;
    }
    while i + w <= n {
        // SAFETY: i + W <= n keeps the vector inside every operand and `out`.
        unsafe { V::store(out.add(i), ops.vector::<OP>(i)) };
        i += w;
    }
    while i < n {
        // SAFETY: i < n.
        unsafe { *out.add(i) = ops.element::<OP>(i) };
        i += 1;
    }
    if nt {
        // SAFETY: `fence` only needs `V`'s target feature (caller's contract).
        unsafe { V::fence() };
    }
}
