//! `Lanes` for x86 vector registers.
//!
//! x86 `min`/`max` return the *second* operand when either is NaN, so `Lanes::min(a, b)` is
//! `min(a, b)` with lanes where `a` is NaN patched back to `a`: NaN in either operand gives NaN.
//! The contiguous min/max kernel uses the plain instruction (`min_num`) and an unordered compare
//! per two input vectors (`nan_mask`) instead.

use core::arch::x86_64::*;

use crate::lanes::Lanes;

macro_rules! lanes_x86 {
    (
        $V:ty, $E:ty, $W:expr,
        $load:ident, $store:ident, $stream:ident, $set1:ident, $zero:ident,
        $add:ident, $sub:ident, $mul:ident, $div:ident, $min:ident, $max:ident,
        nan_first: |$r:ident, $a:ident| $keep_nan:expr,
        mask: $M:ty,
        nan_mask: |$na:ident, $nb:ident| $nan_mask:expr,
        mask_or: |$oa:ident, $ob:ident| $mask_or:expr,
        mask_any: |$mm:ident| $mask_any:expr
    ) => {
        // SAFETY: (this note covers the impl and every intrinsic call below) the intrinsics need
        // the CPU feature of the register type (sse/sse2, avx/avx2, avx512f). `Lanes` methods are only
        // called, inlined, inside the `#[target_feature]` entry points of the matching level
        // (`arch::x86_64::{sse2,avx2,avx512}`), and dispatch hands those out only after
        // `SimdLevel::is_available` detected the feature at run time. Pointer arguments are valid
        // for W elements (and aligned for `stream`) per the trait's contract.
        unsafe impl Lanes for $V {
            type E = $E;
            const W: usize = $W;
            #[inline(always)]
            unsafe fn splat(x: $E) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $set1(x) }
            }
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $zero() }
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
                // SAFETY: `p` is writable for W elements and vector-aligned, as the streaming store
                // requires (caller's contract); level's feature: see the impl's SAFETY note.
                unsafe { $stream(p, v) }
            }
            #[inline(always)]
            unsafe fn fence() {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { _mm_sfence() }
            }
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
                unsafe {
                    let ($r, $a) = ($min(a, b), a);
                    $keep_nan
                }
            }
            #[inline(always)]
            unsafe fn max(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe {
                    let ($r, $a) = ($max(a, b), a);
                    $keep_nan
                }
            }
            const MINMAX_PROPAGATES_NAN: bool = false;
            #[inline(always)]
            unsafe fn min_num(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            unsafe fn max_num(a: Self, b: Self) -> Self {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $max(a, b) }
            }
            type Mask = $M;
            #[inline(always)]
            unsafe fn nan_mask($na: Self, $nb: Self) -> $M {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $nan_mask }
            }
            #[inline(always)]
            #[allow(unused_unsafe)] // AVX-512 masks are integers: `|` and `!=` need no intrinsic
            unsafe fn mask_or($oa: $M, $ob: $M) -> $M {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $mask_or }
            }
            #[inline(always)]
            #[allow(unused_unsafe)] // AVX-512 masks are integers: `|` and `!=` need no intrinsic
            unsafe fn mask_any($mm: $M) -> bool {
                // SAFETY: register-only intrinsics: they need nothing but the level's feature
                // (see the impl's SAFETY note).
                unsafe { $mask_any }
            }
        }
    };
}

// `nan_first`: the result `r` of min/max with the lanes where `a` is NaN replaced by `a`.
lanes_x86!(
    __m128, f32, 4, _mm_loadu_ps, _mm_storeu_ps, _mm_stream_ps, _mm_set1_ps, _mm_setzero_ps,
    _mm_add_ps, _mm_sub_ps, _mm_mul_ps, _mm_div_ps, _mm_min_ps, _mm_max_ps,
    nan_first: |r, a| _mm_or_ps(r, _mm_and_ps(_mm_cmpunord_ps(a, a), a)),
    mask: __m128,
    nan_mask: |a, b| _mm_cmpunord_ps(a, b),
    mask_or: |a, b| _mm_or_ps(a, b),
    mask_any: |m| _mm_movemask_ps(m) != 0
);
lanes_x86!(
    __m128d, f64, 2, _mm_loadu_pd, _mm_storeu_pd, _mm_stream_pd, _mm_set1_pd, _mm_setzero_pd,
    _mm_add_pd, _mm_sub_pd, _mm_mul_pd, _mm_div_pd, _mm_min_pd, _mm_max_pd,
    nan_first: |r, a| _mm_or_pd(r, _mm_and_pd(_mm_cmpunord_pd(a, a), a)),
    mask: __m128d,
    nan_mask: |a, b| _mm_cmpunord_pd(a, b),
    mask_or: |a, b| _mm_or_pd(a, b),
    mask_any: |m| _mm_movemask_pd(m) != 0
);
lanes_x86!(
    __m256, f32, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_stream_ps, _mm256_set1_ps,
    _mm256_setzero_ps, _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_min_ps,
    _mm256_max_ps,
    nan_first: |r, a| _mm256_or_ps(r, _mm256_and_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(a, a), a)),
    mask: __m256,
    nan_mask: |a, b| _mm256_cmp_ps::<_CMP_UNORD_Q>(a, b),
    mask_or: |a, b| _mm256_or_ps(a, b),
    mask_any: |m| _mm256_movemask_ps(m) != 0
);
lanes_x86!(
    __m256d, f64, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_stream_pd, _mm256_set1_pd,
    _mm256_setzero_pd, _mm256_add_pd, _mm256_sub_pd, _mm256_mul_pd, _mm256_div_pd, _mm256_min_pd,
    _mm256_max_pd,
    nan_first: |r, a| _mm256_or_pd(r, _mm256_and_pd(_mm256_cmp_pd::<_CMP_UNORD_Q>(a, a), a)),
    mask: __m256d,
    nan_mask: |a, b| _mm256_cmp_pd::<_CMP_UNORD_Q>(a, b),
    mask_or: |a, b| _mm256_or_pd(a, b),
    mask_any: |m| _mm256_movemask_pd(m) != 0
);
// AVX-512 compares into a mask register and patches with a masked move.
lanes_x86!(
    __m512, f32, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_stream_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_min_ps,
    _mm512_max_ps,
    nan_first: |r, a| _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a), a),
    mask: __mmask16,
    nan_mask: |a, b| _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, b),
    mask_or: |a, b| a | b,
    mask_any: |m| m != 0
);
lanes_x86!(
    __m512d, f64, 8, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_stream_pd, _mm512_set1_pd,
    _mm512_setzero_pd, _mm512_add_pd, _mm512_sub_pd, _mm512_mul_pd, _mm512_div_pd, _mm512_min_pd,
    _mm512_max_pd,
    nan_first: |r, a| _mm512_mask_mov_pd(r, _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a, a), a),
    mask: __mmask8,
    nan_mask: |a, b| _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a, b),
    mask_or: |a, b| a | b,
    mask_any: |m| m != 0
);
