//! The lane abstraction every kernel is written against (memchr's `Vector` idea for floats).
//!
//! Implemented for a width-1 scalar (`arch::scalar`), `__m128/__m256/__m512` (f32, f64) and
//! `float32x4_t/float64x2_t`. All methods are `#[inline(always)]` so that, once inlined into an
//! ISA entry point compiled with `#[target_feature(enable = ...)]`, the intrinsics inline too.

use crate::shape::Element;

/// A SIMD register of `W` elements of type `E`.
///
/// # Safety
/// Implementations use ISA intrinsics: callers must only invoke the methods from code that runs
/// on a CPU with the implementation's target feature (guaranteed by the dispatch table, which
/// hands out an ISA's kernels only after `SimdLevel::is_available`). Pointer arguments must be
/// valid for `W` elements; `stream` additionally needs `p` aligned to `W * size_of::<E>()`.
pub(crate) unsafe trait Lanes: Copy {
    type E: Element;
    const W: usize;
    unsafe fn splat(x: Self::E) -> Self;
    unsafe fn zero() -> Self;
    /// Unaligned load of `W` elements.
    unsafe fn load(p: *const Self::E) -> Self;
    /// Unaligned store of `W` elements.
    unsafe fn store(p: *mut Self::E, v: Self);
    /// Non-temporal store (plain store where the ISA has none); `p` must be vector-aligned.
    unsafe fn stream(p: *mut Self::E, v: Self);
    /// Orders preceding non-temporal stores (`sfence` on x86, nothing elsewhere).
    unsafe fn fence();
    unsafe fn add(a: Self, b: Self) -> Self;
    unsafe fn sub(a: Self, b: Self) -> Self;
    unsafe fn mul(a: Self, b: Self) -> Self;
    unsafe fn div(a: Self, b: Self) -> Self;
    /// Lane-wise minimum that returns NaN if either lane is NaN (NumPy's `minimum`).
    unsafe fn min(a: Self, b: Self) -> Self;
    /// Lane-wise maximum that returns NaN if either lane is NaN (NumPy's `maximum`).
    unsafe fn max(a: Self, b: Self) -> Self;

    /// `min`/`max` already propagate NaN in one instruction (NEON `FMIN`/`FMAX`, the scalar
    /// level's `min_nan`). Otherwise (x86, where the NaN patch costs three more instructions per
    /// vector) the contiguous min/max kernel runs on `min_num`/`max_num` and looks for NaN with
    /// [`Lanes::nan_mask`], one compare per two input vectors.
    const MINMAX_PROPAGATES_NAN: bool;
    /// Lane-wise minimum, exact for lanes without NaN; any value where a lane is NaN (x86's
    /// single `min` instruction). `min` where `MINMAX_PROPAGATES_NAN`.
    #[inline(always)]
    unsafe fn min_num(a: Self, b: Self) -> Self {
        // SAFETY: forwards the caller's target-feature guarantee.
        unsafe { Self::min(a, b) }
    }
    /// Lane-wise maximum, see [`Lanes::min_num`].
    #[inline(always)]
    unsafe fn max_num(a: Self, b: Self) -> Self {
        // SAFETY: forwards the caller's target-feature guarantee.
        unsafe { Self::max(a, b) }
    }
    /// Which lanes of `a` or `b` are NaN (x86: an unordered compare).
    type Mask: Copy;
    /// The lanes where `a` or `b` is NaN.
    unsafe fn nan_mask(a: Self, b: Self) -> Self::Mask;
    /// The union of two masks.
    unsafe fn mask_or(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// Whether any lane of the mask is set.
    unsafe fn mask_any(m: Self::Mask) -> bool;

    /// Horizontal NaN-propagating minimum.
    #[inline(always)]
    unsafe fn hmin(v: Self) -> Self::E {
        // SAFETY: `hfold` needs the target feature, which the caller of `hmin` guarantees.
        unsafe { Self::hfold(v, crate::shape::min_nan) }
    }
    /// Horizontal NaN-propagating maximum.
    #[inline(always)]
    unsafe fn hmax(v: Self) -> Self::E {
        // SAFETY: as in `hmin`.
        unsafe { Self::hfold(v, crate::shape::max_nan) }
    }
    /// Pairwise tree fold of the lanes (runs once per reduction, so a spill is fine).
    #[inline(always)]
    unsafe fn hfold(v: Self, f: impl Fn(Self::E, Self::E) -> Self::E) -> Self::E {
        let mut buf = [<Self::E as crate::shape::sealed::Sealed>::ZERO; 16];
        debug_assert!(Self::W <= 16);
        // SAFETY: `buf` has room for 16 >= W elements (every implementation has W <= 16); the
        // target feature is the caller's contract.
        unsafe { Self::store(buf.as_mut_ptr(), v) };
        let mut w = Self::W;
        while w > 1 {
            w /= 2;
            for i in 0..w {
                buf[i] = f(buf[i], buf[i + w]);
            }
        }
        buf[0]
    }
}
