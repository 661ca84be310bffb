//! `Lanes` for NEON registers. `FMIN`/`FMAX` (and their across-vector forms) already propagate
//! NaN, which is NumPy's semantics; NEON has no non-temporal vector store intrinsic, so `stream`
//! is a plain store. Because `FMIN`/`FMAX` propagate NaN, the min/max kernels never need the
//! NaN mask here (`MINMAX_PROPAGATES_NAN`); it is implemented for completeness of the trait.

use core::arch::aarch64::*;

use crate::lanes::Lanes;

macro_rules! lanes_neon {
    (
        $V:ty, $E:ty, $W:expr, $load:ident, $store:ident, $dup:ident, $add:ident, $sub:ident,
        $mul:ident, $div:ident, $min:ident, $max:ident, $minv:ident, $maxv:ident,
        ordered_both: |$oa:ident, $ob:ident| $ordered:expr
    ) => {
        // SAFETY: (this note covers the impl and every intrinsic call below) the intrinsics need
        // NEON.
        // `Lanes` methods are only called, inlined, inside the `#[target_feature(enable = "neon")]`
        // entry points of `arch::aarch64::neon`, and dispatch hands those out only after
        // `SimdLevel::Neon.is_available()` detected NEON at run time. Pointer arguments are valid
        // for W elements per the trait's contract.
        unsafe impl Lanes for $V {
            type E = $E;
            const W: usize = $W;
            #[inline(always)]
            unsafe fn splat(x: $E) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $dup(x) }
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $dup(0.0) }
            }
            #[inline(always)]
            unsafe fn load(p: *const $E) -> Self {
                // SAFETY: `p` is readable for W elements (caller's contract; unaligned loads are
                // allowed); level's feature: see the impl's SAFETY note.
                unsafe { $load(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut $E, v: Self) {
                // SAFETY: `p` is writable for W elements (caller's contract; unaligned stores are
                // allowed); level's feature: see the impl's SAFETY note.
                unsafe { $store(p, v) }
            }
            #[inline(always)]
            unsafe fn stream(p: *mut $E, v: Self) {
                // SAFETY: `p` is writable for W elements (caller's contract; a plain store: NEON
                // has no non-temporal one); level's feature: see the impl's SAFETY note.
                unsafe { $store(p, v) }
            }
            #[inline(always)]
            unsafe fn fence() {}
            #[inline(always)]
            unsafe fn add(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $add(a, b) }
            }
            #[inline(always)]
            unsafe fn sub(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $sub(a, b) }
            }
            #[inline(always)]
            unsafe fn mul(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $mul(a, b) }
            }
            #[inline(always)]
            unsafe fn div(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $div(a, b) }
            }
            #[inline(always)]
            unsafe fn min(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            unsafe fn max(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $max(a, b) }
            }
            const MINMAX_PROPAGATES_NAN: bool = true;
            type Mask = bool;
            #[inline(always)]
            unsafe fn nan_mask($oa: Self, $ob: Self) -> bool {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { vminvq_u32($ordered) == 0 }
            }
            #[inline(always)]
            unsafe fn mask_or(a: bool, b: bool) -> bool {
                a | b
            }
            #[inline(always)]
            unsafe fn mask_any(m: bool) -> bool {
                m
            }
            #[inline(always)]
            unsafe fn hmin(v: Self) -> $E {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $minv(v) }
            }
            #[inline(always)]
            unsafe fn hmax(v: Self) -> $E {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $maxv(v) }
            }
        }
    };
}

lanes_neon!(
    float32x4_t,
    f32,
    4,
    vld1q_f32,
    vst1q_f32,
    vdupq_n_f32,
    vaddq_f32,
    vsubq_f32,
    vmulq_f32,
    vdivq_f32,
    vminq_f32,
    vmaxq_f32,
    vminvq_f32,
    vmaxvq_f32,
    // All bits of a lane set where both lanes are ordered (not NaN).
    ordered_both: |a, b| vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b))
);
lanes_neon!(
    float64x2_t,
    f64,
    2,
    vld1q_f64,
    vst1q_f64,
    vdupq_n_f64,
    vaddq_f64,
    vsubq_f64,
    vmulq_f64,
    vdivq_f64,
    vminq_f64,
    vmaxq_f64,
    vminvq_f64,
    vmaxvq_f64,
    ordered_both: |a, b| vreinterpretq_u32_u64(vandq_u64(vceqq_f64(a, a), vceqq_f64(b, b)))
);
