//! The helper threads `par` offers chunks to: they spin for a while after each job, then park.
//!
//! Why not a general pool: on a VM, *waking* a parked thread is expensive and the calling thread
//! pays for it even though it never waits for the helper. Measured on the 2-core Zen 4 VM: the
//! futex wake costs the caller ~7 µs and the helper starts running ~27 µs later, so for an isolated
//! call splitting only pays from ~8 MiB touched (f32 sum, 3 ms apart: 2 MiB 37 -> 51 µs, 4 MiB
//! 74 -> 79 µs, 8 MiB 152 -> 141 µs, 16 MiB 516 -> 330 µs). On the Zen 3 VM (issue 19) an isolated
//! 4 MiB call after 2 ms of other work takes 250-300 µs, not 60-70 µs: its inputs come back from
//! DRAM, and there waking pays from 4 MiB (paired in one process, wake from 4 MiB against 8 MiB:
//! f32 sum/min 1024² after idle 1.01-1.24x, bursts 1.00-1.06x; from 2 MiB, 2 MiB calls after idle
//! were 0.82-0.92x). A helper that has just finished a job
//! is still spinning, and handing it work is an atomic store: back-to-back calls of 1 MiB gain
//! ~40 %. So a job is posted to spinning helpers whenever the call is split at all
//! ([`crate::par::PAR_MIN_BYTES`]); parked helpers are woken only for calls of at least
//! [`WAKE_MIN_BYTES`], or when the previous split call ended less than [`SPIN`] ago (a loop of
//! calls: the one wake-up is then shared by every following call). Correctness never depends on a
//! helper showing up: the caller claims chunks itself (see `par`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Work a helper can join: claims chunks until none are left. Must not unwind.
pub(crate) trait Work: Send + Sync {
    fn work(&self);
}

/// Calls touching at least this many bytes wake parked helpers even when isolated.
pub(crate) const WAKE_MIN_BYTES: usize = 4 << 20;

/// How long a helper keeps spinning for the next job after its last one, and how recent the last
/// split call must be for a smaller call to wake helpers. Covers the gap between calls in a loop
/// (microseconds of Python) with a wide margin; an idle process gives its cores back after 1 ms.
const SPIN: Duration = Duration::from_millis(1);

/// Spin-loop hints between clock reads while spinning (one read costs ~20-50 ns).
const SPINS_PER_CHECK: u32 = 64;

/// Clock reads between `yield_now` calls while spinning (~every 20 µs): another runnable thread on
/// this core gets it instead of waiting for the end of the spin.
const CHECKS_PER_YIELD: u32 = 16;

struct Board {
    /// Bumped (under `slot`'s lock) whenever a new job is posted.
    generation: AtomicU64,
    /// Helpers currently in their spin phase (or running a job, about to return to it).
    spinning: AtomicUsize,
    slot: Mutex<Option<Arc<dyn Work>>>,
    wake: Condvar,
    /// Helper threads started so far.
    started: Mutex<usize>,
    /// When the last split call ended, in nanoseconds after `epoch` (0: never).
    last_end_ns: AtomicU64,
    epoch: Instant,
}

impl Board {
    fn new() -> Board {
        Board {
            generation: AtomicU64::new(0),
            spinning: AtomicUsize::new(0),
            slot: Mutex::new(None),
            wake: Condvar::new(),
            started: Mutex::new(0),
            last_end_ns: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn now_ns(&self) -> u64 {
        // Saturates after ~584 years.
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// A split call ended less than `SPIN` ago: we are in a loop of calls.
    fn recently_ended(&self) -> bool {
        let last = self.last_end_ns.load(Ordering::Relaxed);
        last != 0 && self.now_ns().saturating_sub(last) < SPIN.as_nanos() as u64
    }
}

/// The process-wide board (tests use boards of their own).
fn board() -> &'static Board {
    static BOARD: OnceLock<Board> = OnceLock::new();
    BOARD.get_or_init(Board::new)
}

/// A poisoned lock only means another helper panicked while holding it; the data (an `Option`)
/// is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes sure `wanted` helper threads exist (started lazily, never stopped).
fn ensure_helpers(b: &'static Board, wanted: usize) {
    let mut started = lock(&b.started);
    while *started < wanted {
        // Read before the caller posts: the new helper then sees that post as new.
        let seen = b.generation.load(Ordering::Acquire);
        let spawned = std::thread::Builder::new()
            .name(format!("raptors-helper-{}", *started))
            .spawn(move || helper_loop(b, seen));
        if spawned.is_err() {
            // Out of threads: run with fewer helpers (the caller does the work regardless).
            break;
        }
        *started += 1;
    }
}

fn helper_loop(b: &'static Board, mut seen: u64) {
    loop {
        b.spinning.fetch_add(1, Ordering::AcqRel);
        let mut idle_since = Instant::now();
        let mut checks = 0u32;
        loop {
            let g = b.generation.load(Ordering::Acquire);
            if g != seen {
                seen = g;
                let job = lock(&b.slot).clone();
                if let Some(job) = job {
                    job.work();
                }
                idle_since = Instant::now();
                continue;
            }
            if idle_since.elapsed() >= SPIN {
                break;
            }
            for _ in 0..SPINS_PER_CHECK {
                std::hint::spin_loop();
            }
            checks += 1;
            if checks.is_multiple_of(CHECKS_PER_YIELD) {
                std::thread::yield_now();
            }
        }
        b.spinning.fetch_sub(1, Ordering::AcqRel);
        let mut slot = lock(&b.slot);
        // Checked under the lock the poster bumps the generation under: no lost wake-up.
        while b.generation.load(Ordering::Acquire) == seen {
            slot = b.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
        drop(slot);
    }
}

/// Offers `job` to up to `helpers` helper threads: to those spinning now, and to parked ones as
/// well when the call touches at least [`WAKE_MIN_BYTES`] or follows another split call closely.
/// Returns without waiting; the caller works on the job itself and must call [`withdraw`] when
/// done.
pub(crate) fn offer(job: Arc<dyn Work>, helpers: usize, bytes: usize) {
    offer_on(board(), job, helpers, bytes);
}

fn offer_on(b: &'static Board, job: Arc<dyn Work>, helpers: usize, bytes: usize) {
    if helpers == 0 {
        return;
    }
    let wake = bytes >= WAKE_MIN_BYTES || b.recently_ended();
    if wake {
        ensure_helpers(b, helpers);
    } else if b.spinning.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut slot = lock(&b.slot);
    *slot = Some(job);
    b.generation.fetch_add(1, Ordering::AcqRel);
    drop(slot);
    if wake {
        b.wake.notify_all();
    }
}

/// Ends a call: drops the board's reference to `job` if it is still the posted one (helpers that
/// pick it up later would find no chunk left anyway; this just frees it promptly) and notes the
/// time for the "loop of calls" rule.
pub(crate) fn withdraw(job: &Arc<dyn Work>) {
    withdraw_on(board(), job);
}

fn withdraw_on(b: &Board, job: &Arc<dyn Work>) {
    let mut slot = lock(&b.slot);
    if slot.as_ref().is_some_and(|j| Arc::ptr_eq(j, job)) {
        *slot = None;
    }
    drop(slot);
    b.last_end_ns.store(b.now_ns(), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    struct Flag(AtomicBool, std::thread::ThreadId);
    impl Work for Flag {
        fn work(&self) {
            if std::thread::current().id() != self.1 {
                self.0.store(true, Ordering::SeqCst);
            }
        }
    }

    /// A large offer wakes a parked helper; once it has parked again (and no call was recent) a
    /// small offer is not even posted; small offers in a quick loop wake it.
    #[test]
    fn large_offers_and_loops_wake_isolated_small_offers_do_not() {
        // A board of its own: other tests' calls cannot wake its helper.
        let b: &'static Board = Box::leak(Box::new(Board::new()));
        let me = std::thread::current().id();
        let wait_until = |f: &dyn Fn() -> bool| {
            let t = Instant::now();
            while !f() && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_micros(50));
            }
            f()
        };
        let big = Arc::new(Flag(AtomicBool::new(false), me));
        let job: Arc<dyn Work> = big.clone();
        offer_on(b, job.clone(), 1, WAKE_MIN_BYTES);
        assert!(
            wait_until(&|| big.0.load(Ordering::SeqCst)),
            "no helper woke"
        );
        withdraw_on(b, &job);
        assert!(
            wait_until(&|| b.spinning.load(Ordering::SeqCst) == 0),
            "helper never parked"
        );
        std::thread::sleep(2 * SPIN);
        let small = Arc::new(Flag(AtomicBool::new(false), me));
        let job: Arc<dyn Work> = small.clone();
        offer_on(b, job.clone(), 1, 1);
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            !small.0.load(Ordering::SeqCst),
            "an isolated small call woke a helper"
        );
        withdraw_on(b, &job);
        // That call just ended: the next small one is "in a loop" and wakes the helper.
        assert!(
            wait_until(&|| {
                offer_on(b, job.clone(), 1, 1);
                std::thread::sleep(Duration::from_micros(200)); // a call's duration
                withdraw_on(b, &job);
                small.0.load(Ordering::SeqCst)
            }),
            "small calls in a loop never got a helper"
        );
    }
}
