//! A small cache of large result buffers.
//!
//! A fresh result of several MiB comes from `mmap` (glibc serves requests of >= 32 MiB that way
//! every time) and pays a page fault per page on first touch: for a 32 MiB f64 result that costs
//! more than the arithmetic, which is DRAM-bound at ~2 ms. Owners that are done with a result
//! hand its buffer back with [`recycle`]; the next large result of a fitting size reuses it
//! (already faulted in). At most [`SLOTS`] buffers per element type are kept, each at least
//! [`MIN_BYTES`] and at most [`MAX_BYTES`], so the idle cost is bounded (2 x 32 MiB per type).

use std::sync::Mutex;

use crate::shape::Element;

/// Buffers smaller than this are left to malloc (its free lists already reuse them warm).
pub(crate) const MIN_BYTES: usize = 4 << 20;
/// Buffers larger than this are freed normally.
pub(crate) const MAX_BYTES: usize = 32 << 20;
/// Buffers kept per element type.
pub(crate) const SLOTS: usize = 2;

/// The cache of one element type (public only so the sealed `Element` trait can name it).
pub struct Pool<T>(Mutex<Vec<Vec<T>>>);

impl<T> Pool<T> {
    pub(crate) const fn new() -> Self {
        Pool(Mutex::new(Vec::new()))
    }
}

fn eligible(bytes: usize) -> bool {
    (MIN_BYTES..=MAX_BYTES).contains(&bytes)
}

/// An empty buffer with capacity for `len` elements: a cached one when one fits (capacity at
/// least `len` and at most 25 % more), else a new allocation.
pub(crate) fn take<T: Element>(len: usize) -> Vec<T> {
    let bytes = len.saturating_mul(std::mem::size_of::<T>());
    if eligible(bytes) {
        if let Ok(mut slots) = T::pool().0.lock() {
            if let Some(i) = slots
                .iter()
                .position(|v| v.capacity() >= len && v.capacity() <= len + len / 4)
            {
                return slots.swap_remove(i);
            }
        }
    }
    Vec::with_capacity(len)
}

/// Offers a buffer that is no longer needed (its contents are discarded) for reuse by later
/// results; buffers outside the cached size range, or beyond the slot limit, are freed.
pub fn recycle<T: Element>(mut v: Vec<T>) {
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    if !eligible(bytes) {
        return;
    }
    v.clear();
    if let Ok(mut slots) = T::pool().0.lock() {
        if slots.len() < SLOTS {
            slots.push(v);
        }
    }
    // Otherwise `v` is freed here.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_fitting_buffers_only() {
        let len = (MIN_BYTES / 8) + 10;
        let v: Vec<f64> = Vec::with_capacity(len);
        let p = v.as_ptr();
        recycle(v);
        // Too large a request for the cached capacity: a new buffer.
        let big: Vec<f64> = take(2 * len);
        assert_ne!(big.as_ptr(), p);
        // A fitting request gets the cached buffer back (f32 requests never see f64 buffers).
        let small: Vec<f32> = take(len);
        assert_ne!(small.as_ptr() as *const u8, p as *const u8);
        let again: Vec<f64> = take(len - 5);
        assert_eq!(again.as_ptr(), p);
        assert!(again.is_empty() && again.capacity() >= len - 5);
        // Small buffers are not cached.
        let before = cached::<f64>();
        recycle(vec![1.0f64; 16]);
        assert_eq!(cached::<f64>(), before);
        assert!(before <= SLOTS);
    }

    fn cached<T: Element>() -> usize {
        T::pool().0.lock().map(|s| s.len()).unwrap_or(0)
    }
}
