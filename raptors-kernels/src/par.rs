//! Size thresholds and the work-claiming executor the drivers use for large calls.
//!
//! On this kind of machine (2 cores shared with other work) a blocking fork-join costs the whole
//! call whenever the second core is busy: the calling thread would sleep until a worker is
//! scheduled. Instead the calling thread always works itself: a call is cut into chunks, helper
//! threads are *offered* the job (`helpers`), and every participant claims the next chunk with an
//! atomic counter. A helper that starts late finds nothing left and leaves without touching the
//! caller's data; the caller only waits for chunks a helper has actually claimed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::helpers;

/// Below this many bytes touched (inputs + output) a call stays on one chunk. From here up it is
/// split and offered to helper threads that are still spinning from a previous call (no wake-up
/// cost); parked helpers are only woken from `helpers::WAKE_MIN_BYTES` (8 MiB) or in a loop of
/// calls. Measured on the 2-core Zen 4 VM with back-to-back calls (paired runner, f32): at 256 KiB
/// splitting gained nothing (sum 256²: 2.3 µs either way), at 512 KiB 20-35 % (sum 362²: 4.7 ->
/// 3.8 µs, add 362²: 16.6 -> 11 µs), at 1 MiB ~40 % (mean axis 0 512²: 13.6 -> 8.2 µs).
pub(crate) const PAR_MIN_BYTES: usize = 512 << 10;

/// Element-wise calls touching more than this many bytes (inputs + output) use non-temporal
/// stores. Measured on the 32 MiB-L3 Zen 4 VM: at 24 MiB touched (f64 1024² add) streaming was
/// 1.3x faster than normal stores, at 16 MiB (f64 1024² scale) 15 % slower: below ~20 MiB the
/// output stays in L3 next to the inputs (and is reused by the next result), which a streaming
/// store would throw away; above it a normal store pays a read-for-ownership and evicts inputs.
pub(crate) const NT_MIN_BYTES: usize = 20 << 20;

/// Chunks per participating thread for contiguous (cheaply divisible) work: a helper that is
/// preempted mid-chunk then delays the call by at most a small fraction of it.
pub(crate) const CHUNKS_PER_THREAD: usize = 4;

/// A raw pointer that may cross to helper threads; each chunk touches a disjoint range.
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
// Manual impls: a derive would require `T: Copy`.
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: used only to hand disjoint output ranges (or shared read-only inputs) to chunks that
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

/// Number of chunks to split `total` items (`bytes` of traffic) into, each a multiple of `align`,
/// with up to `per_thread` chunks per thread; returns (chunks, items per chunk).
pub(crate) fn plan(total: usize, bytes: usize, align: usize, per_thread: usize) -> (usize, usize) {
    let t = crate::dispatch::threads();
    if t <= 1 || bytes < PAR_MIN_BYTES || total < 2 * align {
        return (1, total);
    }
    let chunks = (t * per_thread).min(total / align).max(1);
    let per = total.div_ceil(chunks).div_ceil(align) * align;
    (total.div_ceil(per), per)
}

/// One call's chunks, shared between the caller and the helpers it offered them to.
struct Job {
    /// Next unclaimed chunk (may run past `chunks`).
    next: AtomicUsize,
    /// Chunks finished (or unwound).
    done: AtomicUsize,
    chunks: usize,
    /// The caller's closure, type-erased; only called for a successfully claimed chunk, and the
    /// caller does not return before every claimed chunk is done.
    data: *const (),
    call: unsafe fn(*const (), usize),
    /// Set when a chunk unwound (before that chunk counts as done, so a caller that saw every
    /// claimed chunk done also sees it); the caller re-raises a helper's panic.
    chunk_panicked: AtomicBool,
}
// SAFETY: `data` points at a `Sync` closure that outlives every use (see `run_chunks`).
unsafe impl Send for Job {}
// SAFETY: as above; the counters are atomics.
unsafe impl Sync for Job {}

/// Calls the erased closure.
///
/// # Safety
/// `data` points at a live `F`.
unsafe fn trampoline<F: Fn(usize) + Sync>(data: *const (), c: usize) {
    // SAFETY: `data` was made from an `&F` that is still alive (contract), and `F: Sync` allows
    // calling it through a shared reference from any thread.
    unsafe { (*(data as *const F))(c) }
}

/// Counts a chunk as done even if it unwinds, so the caller never waits forever; an unwinding
/// chunk is recorded first: the caller stops waiting at the last `done` and must then see the panic
/// (recording it after `catch_unwind` returned on the helper lost it whenever the caller was faster).
struct DoneGuard<'a>(&'a Job);
impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.chunk_panicked.store(true, Ordering::Relaxed);
        }
        // Release: publishes the flag above with the count.
        self.0.done.fetch_add(1, Ordering::Release);
    }
}

impl Job {
    fn work(&self) {
        loop {
            let c = self.next.fetch_add(1, Ordering::Relaxed);
            if c >= self.chunks {
                return;
            }
            let _g = DoneGuard(self);
            // SAFETY: chunk `c` was claimed before the caller closed the job, so the caller is
            // still waiting in `CloseGuard::drop` and the closure is alive.
            unsafe { (self.call)(self.data, c) };
        }
    }
}

impl helpers::Work for Job {
    /// A helper's share: a panic must not kill the helper thread or go unnoticed, so it is caught
    /// here (the chunk's `DoneGuard` recorded it) and re-raised on the calling thread.
    fn work(&self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Job::work(self)));
    }
}

/// On the caller's way out (normal or unwinding): stop further claims, wait for claimed chunks.
struct CloseGuard<'a>(&'a Job);
impl Drop for CloseGuard<'_> {
    fn drop(&mut self) {
        let job = self.0;
        let claimed = job.next.swap(job.chunks, Ordering::AcqRel).min(job.chunks);
        let mut spins = 0u32;
        while job.done.load(Ordering::Acquire) < claimed {
            if spins < 2000 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Runs `f(c)` for every `c < chunks` of a call touching `bytes`: the calling thread claims chunks
/// itself and up to `threads() - 1` helpers are offered the rest.
fn run_chunks<F: Fn(usize) + Sync>(chunks: usize, bytes: usize, f: &F) {
    if chunks <= 1 {
        if chunks == 1 {
            f(0);
        }
        return;
    }
    let helpers = (crate::dispatch::threads() - 1).min(chunks - 1);
    let job = Arc::new(Job {
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        chunks,
        data: f as *const F as *const (),
        call: trampoline::<F>,
        chunk_panicked: AtomicBool::new(false),
    });
    let posted: Arc<dyn helpers::Work> = job.clone();
    helpers::offer(Arc::clone(&posted), helpers, bytes);
    let close = CloseGuard(&job);
    job.work();
    drop(close);
    helpers::withdraw(&posted);
    assert!(
        !job.chunk_panicked.load(Ordering::Acquire),
        "a chunk panicked on a raptors helper thread"
    );
}

/// Runs `f(start, end)` over `0..total` split per [`plan`].
pub(crate) fn for_ranges(
    total: usize,
    bytes: usize,
    align: usize,
    per_thread: usize,
    f: impl Fn(usize, usize) + Sync,
) {
    let (chunks, per) = plan(total, bytes, align, per_thread);
    if chunks <= 1 {
        f(0, total);
        return;
    }
    for_chunks(chunks, per, total, bytes, |_, s, e| f(s, e));
}

/// Runs `f(c, start, end)` for the `chunks` ranges of `per` items covering `0..total` (a plan
/// computed once by the caller, who may size per-chunk buffers with it); `bytes` is the call's
/// traffic, which decides whether parked helpers are woken.
pub(crate) fn for_chunks(
    chunks: usize,
    per: usize,
    total: usize,
    bytes: usize,
    f: impl Fn(usize, usize, usize) + Sync,
) {
    run_chunks(chunks, bytes, &|c: usize| {
        f(c, (c * per).min(total), ((c + 1) * per).min(total))
    });
}

/// Maps `f(start, end)` over the ranges of [`plan`] and folds the results with `combine` in
/// chunk order (deterministic: independent of which thread ran which chunk).
pub(crate) fn map_reduce<R: Send>(
    total: usize,
    bytes: usize,
    align: usize,
    f: impl Fn(usize, usize) -> R + Sync,
    combine: impl Fn(R, R) -> R,
) -> R {
    let (chunks, per) = plan(total, bytes, align, CHUNKS_PER_THREAD);
    if chunks <= 1 {
        return f(0, total);
    }
    let mut slots: Vec<Option<R>> = (0..chunks).map(|_| None).collect();
    let base = SendPtr(slots.as_mut_ptr());
    run_chunks(chunks, bytes, &|c: usize| {
        let r = f(c * per, ((c + 1) * per).min(total));
        // SAFETY: chunk `c` runs exactly once and is the only writer of slot `c`; `slots` outlives
        // `run_chunks`, which returns only after every chunk is done.
        unsafe { *base.get().add(c) = Some(r) };
    });
    slots
        .into_iter()
        .map(|r| r.expect("every chunk ran"))
        .reduce(combine)
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
                for per_thread in [1, CHUNKS_PER_THREAD] {
                    let (chunks, per) = plan(total, PAR_MIN_BYTES, align, per_thread);
                    assert!((1..=3 * per_thread).contains(&chunks));
                    if chunks > 1 {
                        assert_eq!(per % align, 0);
                    }
                    let seen = std::sync::Mutex::new(vec![0u8; total]);
                    for_ranges(total, PAR_MIN_BYTES, align, per_thread, |s, e| {
                        let mut v = seen.lock().unwrap();
                        for x in &mut v[s..e] {
                            *x += 1;
                        }
                    });
                    assert!(
                        seen.into_inner().unwrap().iter().all(|&c| c == 1),
                        "{total} {align}"
                    );
                }
                let sum = map_reduce(total, PAR_MIN_BYTES, align, |s, e| e - s, |a, b| a + b);
                assert_eq!(sum, total);
                // Chunk order is kept: concatenating the ranges gives them in ascending order.
                let order = map_reduce(
                    total,
                    PAR_MIN_BYTES,
                    align,
                    |s, e| vec![(s, e)],
                    |mut a, b| {
                        a.extend(b);
                        a
                    },
                );
                assert!(order.windows(2).all(|w| w[0].1 == w[1].0), "{order:?}");
            }
        }
        // Below the size threshold everything stays on one chunk.
        assert_eq!(plan(100_000, PAR_MIN_BYTES - 1, 1, CHUNKS_PER_THREAD).0, 1);
    }

    /// A chunk that panics (on the caller or on a helper) does not leave others running on freed
    /// data: the panic reaches the caller only after every claimed chunk finished.
    #[test]
    fn panicking_chunk_is_reported_after_the_others() {
        crate::dispatch::set_threads(2);
        for bad_chunk in [0, 5] {
            let active = AtomicUsize::new(0);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // Large enough to wake a helper, so both threads take part.
                for_chunks(8, 8, 64, helpers::WAKE_MIN_BYTES, |c, _, _| {
                    active.fetch_add(1, Ordering::SeqCst);
                    if c == bad_chunk {
                        active.fetch_sub(1, Ordering::SeqCst);
                        panic!("chunk {c}");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            }));
            assert!(r.is_err(), "the panic of chunk {bad_chunk} was lost");
            assert_eq!(
                active.load(Ordering::SeqCst),
                0,
                "a chunk outlived the call"
            );
        }
    }
}
