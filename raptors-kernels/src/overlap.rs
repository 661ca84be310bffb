//! Memory-overlap arithmetic for `_into` calls: which bytes a view can touch, and whether an
//! input shares memory with the output without being exactly it.
//!
//! The `_into` functions accept an input that is exactly the output (in-place `a += b`: every
//! element is read before it is written), but not a partial overlap (a shifted or transposed view
//! of the output): an element could be overwritten before it is read. Callers that cannot rule
//! that out (the Python binding, whose `out=` may alias anything) copy such inputs first.

use std::ops::Range;

use crate::shape::{Element, Shape};
use crate::view::{ArrayView, ArrayViewMut};

/// The bytes `[start, end)` that a view starting at address `addr` with `shape` and element
/// `strides` can touch (an empty range at `addr` for an empty view). Negative strides reach below
/// `addr`. Saturates instead of wrapping, so an absurd view yields a (too) large range, never a
/// wrong small one.
///
/// ```
/// use raptors_kernels::{byte_span, Shape};
///
/// // A 2x3 f32 matrix at 1000: bytes 1000..1024.
/// assert_eq!(byte_span(1000, Shape::d2(2, 3), [3, 1], 4), 1000..1024);
/// // Its reversed rows (first element at 1012, row stride -3) cover the same bytes.
/// assert_eq!(byte_span(1012, Shape::d2(2, 3), [-3, 1], 4), 1000..1024);
/// ```
pub fn byte_span(addr: usize, shape: Shape, strides: [isize; 2], itemsize: usize) -> Range<usize> {
    if shape.size() == 0 {
        return addr..addr;
    }
    let (mut lo, mut hi) = (addr as i128, addr as i128);
    for (&d, &s) in shape.dims().iter().zip(strides.iter()) {
        let ext = (d as i128 - 1) * s as i128 * itemsize as i128;
        if ext < 0 {
            lo += ext;
        } else {
            hi += ext;
        }
    }
    let clamp = |x: i128| x.clamp(0, usize::MAX as i128) as usize;
    clamp(lo)..clamp(hi + itemsize as i128)
}

/// Whether two byte ranges share at least one byte (empty ranges share none).
pub fn spans_overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
}

impl<T: Element> ArrayView<'_, T> {
    /// The bytes this view can read, see [`byte_span`].
    pub fn byte_span(&self) -> Range<usize> {
        byte_span(
            self.ptr as usize,
            self.shape,
            self.strides,
            std::mem::size_of::<T>(),
        )
    }
}

impl<T: Element> ArrayViewMut<'_, T> {
    /// The bytes this view can write, see [`byte_span`].
    pub fn byte_span(&self) -> Range<usize> {
        byte_span(
            self.ptr as usize,
            self.shape,
            self.strides,
            std::mem::size_of::<T>(),
        )
    }
}

/// True when `input` shares memory with `out` without being exactly the same view (same first
/// element, shape and strides). Such an input must be copied before an `_into` call writes `out`.
///
/// ```
/// use raptors_kernels::{overlaps_partially, ArrayView, ArrayViewMut, Shape};
///
/// let mut data = [0.0f64; 8];
/// let p = data.as_mut_ptr();
/// // SAFETY: both views lie inside `data`, which outlives them.
/// let (out, same, shifted) = unsafe {
///     (
///         ArrayViewMut::from_raw_parts(p, Shape::d1(4), [1, 0]),
///         ArrayView::from_raw_parts(p, Shape::d1(4), [1, 0]),
///         ArrayView::from_raw_parts(p.add(2), Shape::d1(4), [1, 0]),
///     )
/// };
/// assert!(!overlaps_partially(&same, &out)); // in place: fine
/// assert!(overlaps_partially(&shifted, &out)); // must be copied first
/// ```
pub fn overlaps_partially<T: Element>(input: &ArrayView<'_, T>, out: &ArrayViewMut<'_, T>) -> bool {
    let identical = input.ptr == out.ptr.cast_const()
        && input.shape == out.shape
        && input.strides == out.strides;
    !identical && spans_overlap(&input.byte_span(), &out.byte_span())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_strided_views() {
        // Zero strides: one element whatever the length.
        assert_eq!(byte_span(64, Shape::d2(5, 7), [0, 0], 8), 64..72);
        // Transposed 3x2 view of a 2x3 f64 matrix at 0.
        assert_eq!(byte_span(0, Shape::d2(3, 2), [1, 3], 8), 0..48);
        // Negative inner stride: the first element is the highest address.
        assert_eq!(byte_span(40, Shape::d1(6), [-1, 0], 8), 0..48);
        // Empty views touch nothing, even with a huge stride.
        assert!(byte_span(8, Shape::d2(0, 3), [isize::MAX, 1], 4).is_empty());
        // 0-d: one element.
        assert_eq!(byte_span(16, Shape::scalar(), [0, 0], 4), 16..20);
        // Saturates instead of wrapping.
        assert_eq!(byte_span(8, Shape::d1(3), [-isize::MAX, 0], 8).start, 0);
    }

    #[test]
    fn overlap_is_symmetric_and_ignores_empty_ranges() {
        let cases = [
            (0..8, 8..16, false),
            (0..9, 8..16, true),
            (4..4, 0..16, false),
            (0..16, 4..8, true),
        ];
        for (a, b, want) in cases {
            assert_eq!(spans_overlap(&a, &b), want, "{a:?} {b:?}");
            assert_eq!(spans_overlap(&b, &a), want, "{b:?} {a:?}");
        }
    }

    #[test]
    fn partial_overlap_of_views() {
        let mut data = [0.0f32; 12];
        let p = data.as_mut_ptr();
        // SAFETY: every view below addresses elements inside `data` (12 elements), which outlives
        // them; nothing is read or written through them.
        let (out, t, rev, other) = unsafe {
            (
                ArrayViewMut::from_raw_parts(p, Shape::d2(3, 3), [3, 1]),
                ArrayView::from_raw_parts(p, Shape::d2(3, 3), [1, 3]),
                ArrayView::from_raw_parts(p.add(8), Shape::d2(3, 3), [-3, -1]),
                ArrayView::from_raw_parts(p.add(9), Shape::d1(3), [1, 0]),
            )
        };
        assert!(overlaps_partially(&t, &out), "transposed view of out");
        assert!(overlaps_partially(&rev, &out), "reversed view of out");
        assert!(
            !overlaps_partially(&other, &out),
            "elements 9..12 are outside out"
        );
    }
}
