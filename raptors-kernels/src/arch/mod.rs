//! One module per instruction set, memchr-style: each instantiates the generic kernels with its
//! lane types under `#[target_feature]` and exposes a `Table` per element type.
//!
//! Entry points are `#[inline(never)]` with stable names, e.g.
//! `raptors_kernels::arch::x86_64::avx512::sum_f32`, so profilers can find them.

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

/// Defines the entry points of one ISA for one element type and a `Table` constant holding them.
/// `$(#[$attr])*` carries the `#[target_feature]` attribute (none for scalar).
macro_rules! isa_kernels {
    (
        $(#[$attr:meta])* $V:ty, $E:ty, $table:ident,
        vv: [$vadd:ident, $vsub:ident, $vmul:ident, $vdiv:ident],
        vs: [$sadd:ident, $ssub:ident, $smul:ident, $sdiv:ident],
        sv: [$radd:ident, $rsub:ident, $rmul:ident, $rdiv:ident],
        all: [$sum:ident, $min:ident, $max:ident],
        axis0: [$sum0:ident, $min0:ident, $max0:ident],
        axis1: [$sum1:ident, $min1:ident, $max1:ident] $(,)?
    ) => {
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $vadd, ADD, VV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $vsub, SUB, VV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $vmul, MUL, VV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $vdiv, DIV, VV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $sadd, ADD, VS);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $ssub, SUB, VS);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $smul, MUL, VS);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $sdiv, DIV, VS);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $radd, ADD, SV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $rsub, SUB, SV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $rmul, MUL, SV);
        $crate::arch::isa_kernels!(@bin $(#[$attr])* $V, $E, $rdiv, DIV, SV);

        /// Sum of `n` contiguous elements (f64 result of the blocked, compensated scheme).
        ///
        /// # Safety
        /// `p` readable for `n` elements; the CPU supports this module's target feature.
        $(#[$attr])*
        #[inline(never)]
        pub(crate) unsafe fn $sum(p: *const $E, n: usize) -> f64 {
            // SAFETY: forwarded contract: `p` readable for n elements, and this entry point is only
            // reached through its level's table, handed out after the feature was detected.
            unsafe { $crate::generic::reduce::sum::<$V>(p, n) }
        }
        $crate::arch::isa_kernels!(@mm $(#[$attr])* $V, $E, $min, MIN);
        $crate::arch::isa_kernels!(@mm $(#[$attr])* $V, $E, $max, MAX);
        $crate::arch::isa_kernels!(@a0 $(#[$attr])* $V, $E, $sum0, SUM);
        $crate::arch::isa_kernels!(@a0 $(#[$attr])* $V, $E, $min0, MIN);
        $crate::arch::isa_kernels!(@a0 $(#[$attr])* $V, $E, $max0, MAX);
        $crate::arch::isa_kernels!(@a1 $(#[$attr])* $V, $E, $sum1, SUM);
        $crate::arch::isa_kernels!(@a1 $(#[$attr])* $V, $E, $min1, MIN);
        $crate::arch::isa_kernels!(@a1 $(#[$attr])* $V, $E, $max1, MAX);

        pub(crate) const $table: $crate::dispatch::Table<$E> = $crate::dispatch::Table {
            binary: [
                [$vadd, $vsub, $vmul, $vdiv],
                [$sadd, $ssub, $smul, $sdiv],
                [$radd, $rsub, $rmul, $rdiv],
            ],
            sum: $sum,
            minmax: [$min, $max],
            axis0: [$sum0, $min0, $max0],
            axis1: [$sum1, $min1, $max1],
        };
    };
    (@bin $(#[$attr:meta])* $V:ty, $E:ty, $name:ident, $op:ident, $mode:ident) => {
        /// Element-wise kernel, see `generic::binary::binary`.
        ///
        /// # Safety
        /// As `generic::binary::binary`; the CPU supports this module's target feature.
        $(#[$attr])*
        #[inline(never)]
        pub(crate) unsafe fn $name(a: *const $E, b: *const $E, out: *mut $E, n: usize, nt: bool) {
            use $crate::generic::binary::*;
            // SAFETY: forwarded contract (operands readable and `out` writable for n elements);
            // the target feature: this entry point is only reached through its level's table,
            // handed out after the feature was detected.
            unsafe { binary::<$V, $op, $mode>(a, b, out, n, nt) }
        }
    };
    (@mm $(#[$attr:meta])* $V:ty, $E:ty, $name:ident, $k:ident) => {
        /// NaN-propagating min/max of `n >= 1` contiguous elements.
        ///
        /// # Safety
        /// `p` readable for `n >= 1` elements; the CPU supports this module's target feature.
        $(#[$attr])*
        #[inline(never)]
        pub(crate) unsafe fn $name(p: *const $E, n: usize) -> $E {
            use $crate::generic::reduce::*;
            // SAFETY: forwarded contract (`p` readable for n >= 1 elements); target feature as
            // for the binary entry points.
            unsafe { minmax::<$V, $k>(p, n) }
        }
    };
    (@a0 $(#[$attr:meta])* $V:ty, $E:ty, $name:ident, $k:ident) => {
        /// Axis-0 reduction into contiguous `out`, see `generic::reduce::axis0`.
        ///
        /// # Safety
        /// As `generic::reduce::axis0`; the CPU supports this module's target feature.
        $(#[$attr])*
        #[inline(never)]
        pub(crate) unsafe fn $name(p: *const $E, m: usize, n: usize, rs: isize, out: *mut $E) {
            use $crate::generic::reduce::*;
            // SAFETY: forwarded contract (every row readable over n columns, `out` writable for
            // n); target feature as for the binary entry points.
            unsafe { axis0::<$V, $k>(p, m, n, rs, out) }
        }
    };
    (@a1 $(#[$attr:meta])* $V:ty, $E:ty, $name:ident, $k:ident) => {
        /// Axis-1 reduction, see `generic::reduce::axis1`.
        ///
        /// # Safety
        /// As `generic::reduce::axis1`; the CPU supports this module's target feature.
        $(#[$attr])*
        #[inline(never)]
        pub(crate) unsafe fn $name(
            p: *const $E,
            m: usize,
            n: usize,
            rs: isize,
            out: *mut $E,
            os: isize,
            div: f64,
        ) {
            use $crate::generic::reduce::*;
            // SAFETY: forwarded contract (every row readable over n elements, `out + i*os`
            // writable); target feature as for the binary entry points.
            unsafe { axis1::<$V, $k>(p, m, n, rs, out, os, div) }
        }
    };
}
pub(crate) use isa_kernels;

/// Invokes `isa_kernels!` for f32 and f64 with the conventional entry-point names
/// (`add_f32`, `add_scalar_f32`, `scalar_sub_f32`, `sum_f32`, `sum_axis0_f32`, ...).
macro_rules! isa_both {
    ($(#[$attr:meta])* $V32:ty, $V64:ty) => {
        $crate::arch::isa_kernels!($(#[$attr])* $V32, f32, TABLE_F32,
            vv: [add_f32, sub_f32, mul_f32, div_f32],
            vs: [add_scalar_f32, sub_scalar_f32, mul_scalar_f32, div_scalar_f32],
            sv: [scalar_add_f32, scalar_sub_f32, scalar_mul_f32, scalar_div_f32],
            all: [sum_f32, min_f32, max_f32],
            axis0: [sum_axis0_f32, min_axis0_f32, max_axis0_f32],
            axis1: [sum_axis1_f32, min_axis1_f32, max_axis1_f32],
        );
        $crate::arch::isa_kernels!($(#[$attr])* $V64, f64, TABLE_F64,
            vv: [add_f64, sub_f64, mul_f64, div_f64],
            vs: [add_scalar_f64, sub_scalar_f64, mul_scalar_f64, div_scalar_f64],
            sv: [scalar_add_f64, scalar_sub_f64, scalar_mul_f64, scalar_div_f64],
            all: [sum_f64, min_f64, max_f64],
            axis0: [sum_axis0_f64, min_axis0_f64, max_axis0_f64],
            axis1: [sum_axis1_f64, min_axis1_f64, max_axis1_f64],
        );
    };
}
pub(crate) use isa_both;
