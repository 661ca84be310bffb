//! Size thresholds and the small amount of rayon glue the drivers need.

use rayon::prelude::*;

/// Below this many bytes touched (inputs + output) a call stays on the calling thread: waking a
/// rayon worker costs a few microseconds, which only pays for work of roughly this size.
pub(crate) const PAR_MIN_BYTES: usize = 2 << 20;

/// Outputs larger than this use non-temporal stores (they would evict the inputs from L2/L3 and
/// pay a read-for-ownership per line otherwise).
pub(crate) const NT_MIN_BYTES: usize = 4 << 20;

/// A raw pointer that may cross to rayon workers; each worker touches a disjoint range.
#[derive(Copy, Clone)]
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
// SAFETY: used only to hand disjoint output ranges (or shared read-only inputs) to workers that
// finish before the owning call returns.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// Method access makes closures capture the whole wrapper (not the raw field).
    #[inline(always)]
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Number of chunks to split `total` items (`bytes` of traffic) into, each a multiple of `align`.
pub(crate) fn plan(total: usize, bytes: usize, align: usize) -> (usize, usize) {
    let t = crate::dispatch::threads();
    if t <= 1 || bytes < PAR_MIN_BYTES || total < 2 * align {
        return (1, total);
    }
    let chunks = t.min(total / align).max(1);
    let per = total.div_ceil(chunks).div_ceil(align) * align;
    (total.div_ceil(per), per)
}

/// Runs `f(start, end)` over `0..total` split per [`plan`].
pub(crate) fn for_ranges(
    total: usize,
    bytes: usize,
    align: usize,
    f: impl Fn(usize, usize) + Sync + Send,
) {
    let (chunks, per) = plan(total, bytes, align);
    if chunks <= 1 {
        f(0, total);
        return;
    }
    (0..chunks)
        .into_par_iter()
        .for_each(|c| f(c * per, ((c + 1) * per).min(total)));
}

/// Maps `f(start, end)` over the ranges of [`plan`] and folds the results with `combine`.
pub(crate) fn map_reduce<R: Send>(
    total: usize,
    bytes: usize,
    align: usize,
    f: impl Fn(usize, usize) -> R + Sync + Send,
    combine: impl Fn(R, R) -> R + Sync + Send,
) -> R {
    let (chunks, per) = plan(total, bytes, align);
    if chunks <= 1 {
        return f(0, total);
    }
    (0..chunks)
        .into_par_iter()
        .map(|c| f(c * per, ((c + 1) * per).min(total)))
        .reduce_with(combine)
        .expect("at least two chunks")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranges of every plan cover `0..total` exactly once, in aligned chunks.
    #[test]
    fn ranges_cover_everything_once() {
        crate::dispatch::set_threads(3);
        for total in [0, 1, 63, 64, 127, 128, 1000, 4096, 100_003] {
            for align in [1, 64] {
                let (chunks, per) = plan(total, PAR_MIN_BYTES, align);
                assert!((1..=3).contains(&chunks));
                if chunks > 1 {
                    assert_eq!(per % align, 0);
                }
                let seen = std::sync::Mutex::new(vec![0u8; total]);
                for_ranges(total, PAR_MIN_BYTES, align, |s, e| {
                    let mut v = seen.lock().unwrap();
                    for x in &mut v[s..e] {
                        *x += 1;
                    }
                });
                assert!(
                    seen.into_inner().unwrap().iter().all(|&c| c == 1),
                    "{total} {align}"
                );
                let sum = map_reduce(total, PAR_MIN_BYTES, align, |s, e| e - s, |a, b| a + b);
                assert_eq!(sum, total);
            }
        }
        // Below the size threshold everything stays on one chunk.
        assert_eq!(plan(100_000, PAR_MIN_BYTES - 1, 1).0, 1);
    }
}
