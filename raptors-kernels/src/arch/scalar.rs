//! The portable level: the generic kernels instantiated with a width-1 "vector".

use crate::lanes::Lanes;
use crate::shape::{max_nan, min_nan, Element};

/// One element pretending to be a vector.
#[derive(Copy, Clone)]
pub(crate) struct Scalar<E>(E);

// SAFETY: no intrinsics; pointer methods only require the trait's validity contract.
unsafe impl<E: Element> Lanes for Scalar<E> {
    type E = E;
    const W: usize = 1;
    #[inline(always)]
    unsafe fn splat(x: E) -> Self {
        Scalar(x)
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        Scalar(<E as crate::shape::sealed::Sealed>::ZERO)
    }
    #[inline(always)]
    unsafe fn load(p: *const E) -> Self {
        // SAFETY: the caller guarantees `p` readable for W = 1 element.
        Scalar(unsafe { *p })
    }
    #[inline(always)]
    unsafe fn store(p: *mut E, v: Self) {
        // SAFETY: the caller guarantees `p` writable for W = 1 element.
        unsafe { *p = v.0 }
    }
    #[inline(always)]
    unsafe fn stream(p: *mut E, v: Self) {
        // SAFETY: as in `store` (a plain store: there is no streaming form for one element).
        unsafe { *p = v.0 }
    }
    #[inline(always)]
    unsafe fn fence() {}
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Scalar(a.0 + b.0)
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        Scalar(a.0 - b.0)
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Scalar(a.0 * b.0)
    }
    #[inline(always)]
    unsafe fn div(a: Self, b: Self) -> Self {
        Scalar(a.0 / b.0)
    }
    #[inline(always)]
    unsafe fn min(a: Self, b: Self) -> Self {
        Scalar(min_nan(a.0, b.0))
    }
    #[inline(always)]
    unsafe fn max(a: Self, b: Self) -> Self {
        Scalar(max_nan(a.0, b.0))
    }
    const MINMAX_PROPAGATES_NAN: bool = true;
    type Mask = bool;
    #[inline(always)]
    unsafe fn nan_mask(a: Self, b: Self) -> bool {
        a.0.is_nan() || b.0.is_nan()
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
    unsafe fn hmin(v: Self) -> E {
        v.0
    }
    #[inline(always)]
    unsafe fn hmax(v: Self) -> E {
        v.0
    }
}

crate::arch::isa_both!(Scalar<f32>, Scalar<f64>);
