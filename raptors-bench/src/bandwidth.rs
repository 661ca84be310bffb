//! The machine's read bandwidth, measured: the bound a comparison's cells are set against.
//!
//! A reduction or element-wise call cannot run faster than its bytes can be read, so the report
//! gives each cell's GB/s as a fraction of what this machine reads with the same number of threads
//! Raptors uses: from the last-level cache (a buffer that fits it, read over and over) and from
//! DRAM (a buffer four times its size). The reader is independent of Raptors's kernels (a bound
//! measured with the kernels under test would only restate them): 64-bit integer adds in eight
//! chains over four parts at once (the L2 prefetchers follow each stream; one stream reads
//! 15-25 % slower on Zen 3), with the widest plain vector loads (AVX2 where detected, NEON, else
//! what the compiler makes of plain Rust), from a buffer backed by transparent huge pages where
//! Linux offers them (NumPy and Raptors ask for them for arrays this large).
//!
//! The threads read *together*, like the threads of one call: every repetition starts when all of
//! them are ready, and lasts until the last one is done. (Timing each thread on its own and adding
//! up their rates overstated the bound by up to ~40 % here: a thread's fast repetitions were the
//! ones during which the others were not reading.) The bound is bytes / the 10th-percentile
//! repetition. Cells whose working set fits the L2 caches can exceed it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What [`measure`] found, and how.
#[derive(Clone, Debug)]
pub struct Measured {
    pub cache_gbs: f64,
    pub dram_gbs: f64,
    /// One line for the report: buffer sizes, threads, repetitions.
    pub method: String,
}

impl Measured {
    /// The higher of each bound over a probe before the runner (if any) and one after it: a
    /// bound is what the machine can do, and a shared machine only ever takes bandwidth away.
    /// The method line names both probes' figures.
    pub fn best_of(before: Option<&Measured>, after: &Measured) -> Measured {
        let Some(before) = before else {
            return Measured {
                method: format!("measured after the runner: {}", after.method),
                ..after.clone()
            };
        };
        Measured {
            cache_gbs: before.cache_gbs.max(after.cache_gbs),
            dram_gbs: before.dram_gbs.max(after.dram_gbs),
            method: format!(
                "the better of two probes, before the runner (cache {:.0} GB/s, DRAM {:.0} GB/s) \
                 and after it ({:.0}, {:.0}): {}",
                before.cache_gbs, before.dram_gbs, after.cache_gbs, after.dram_gbs, after.method
            ),
        }
    }
}

/// Streams (parts read at once) per thread.
const STREAMS: usize = 4;

/// Cache-resident buffer: what the headline cells read (a 1024² f32 array), or a quarter of the
/// last-level cache when that is smaller.
const CACHE_BYTES: u64 = 4 << 20;

/// Measures both bounds with `threads` threads; `llc_bytes` is the last-level cache's size.
pub fn measure(threads: usize, llc_bytes: u64) -> Measured {
    let threads = threads.max(1);
    let cache_bytes = CACHE_BYTES.min(llc_bytes / 4).max(64 << 10);
    let dram_bytes = (4 * llc_bytes).max(64 << 20);
    // Enough repetitions that the fast tenth comes from after the scheduler has spread the new
    // threads over the cores (they start on one): ~40 ms of cache reads here, ~100 ms of DRAM.
    let (cache_reps, dram_reps) = (1000, 20);
    Measured {
        cache_gbs: read_gbs(cache_bytes as usize, threads, cache_reps),
        dram_gbs: read_gbs(dram_bytes as usize, threads, dram_reps),
        method: format!(
            "{} read {cache_reps} times (cache) and {} read {dram_reps} times (DRAM) by \
             {threads} thread(s) together, each its own part, four streams each; bytes / \
             10th-percentile time of a repetition (until the last thread is done)",
            human(cache_bytes),
            human(dram_bytes)
        ),
    }
}

/// The largest CPU cache Linux lists for CPU 0 (`/sys/devices/system/cpu/cpu0/cache/index*/size`,
/// e.g. "32768K"); None elsewhere or when unreadable. For `raptors-bench bandwidth` alone: a
/// comparison takes the size from the runner's machine record (`machine_facts.py`), like its cells.
pub fn last_level_cache_sysfs() -> Option<u64> {
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("size")).ok())
        .filter_map(|s| parse_cache_size(s.trim()))
        .max()
}

/// "32768K" / "1M" / "512" (bytes) as bytes.
fn parse_cache_size(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let mul = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return None,
    };
    Some(n * mul)
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Aggregate GB/s of `threads` threads reading their parts of a `bytes` buffer together, `reps`
/// times: bytes / the 10th-percentile time from a repetition's start to its last thread's end.
fn read_gbs(bytes: usize, threads: usize, reps: usize) -> f64 {
    let words = bytes / 8;
    let buf = HugeBuffer::new(words);
    let data = buf.words();
    let per = words / threads;
    // Repetition r starts when `started` reaches r (thread 0 sets it once all threads have
    // finished repetition r - 1, counted in `finished`); threads spin, as a call's helpers do.
    let started = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let clock = Instant::now();
    let timings: Vec<(Vec<f64>, Vec<f64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let part = &data[t * per..(t + 1) * per];
                let (started, finished) = (&started, &finished);
                s.spawn(move || {
                    let (mut starts, mut ends) = (Vec::new(), Vec::with_capacity(reps));
                    let mut check = 0u64;
                    for r in 1..=reps {
                        if t == 0 {
                            wait_until(|| finished.load(Ordering::Acquire) >= (r - 1) * threads);
                            starts.push(clock.elapsed().as_secs_f64());
                            started.store(r, Ordering::Release);
                        } else {
                            wait_until(|| started.load(Ordering::Acquire) >= r);
                        }
                        check = check.wrapping_add(read_parts(part));
                        ends.push(clock.elapsed().as_secs_f64());
                        finished.fetch_add(1, Ordering::AcqRel);
                    }
                    std::hint::black_box(check);
                    (starts, ends)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let Some((starts, _)) = timings.first() else {
        return 0.0;
    };
    let mut times: Vec<f64> = starts
        .iter()
        .enumerate()
        .filter_map(|(r, start)| {
            let end = timings
                .iter()
                .map(|(_, ends)| ends.get(r).copied())
                .try_fold(0.0f64, |m, e| e.map(|e| m.max(e)))?;
            Some(end - start)
        })
        .collect();
    if times.is_empty() {
        return 0.0;
    }
    times.sort_by(f64::total_cmp);
    // A bound: the fast end of the repetitions (the machine is shared and noisy).
    (threads * per * 8) as f64 / times[times.len() / 10] / 1e9
}

/// Spins until `ready`, yielding the CPU now and then: with more threads than free cores a
/// spinning thread would otherwise hold the core the thread it waits for needs.
fn wait_until(ready: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        spins += 1;
        if spins % 4096 == 0 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Words in memory that Linux is asked to back with 2 MiB pages (the allocation is padded so the
/// words start on a 2 MiB boundary); written once, so every page is mapped before the timed reads.
struct HugeBuffer {
    storage: Vec<u64>,
    offset: usize,
    words: usize,
}

impl HugeBuffer {
    const HUGE_PAGE: usize = 2 << 20;

    fn new(words: usize) -> HugeBuffer {
        let pad = Self::HUGE_PAGE / 8;
        let mut storage: Vec<u64> = Vec::with_capacity(words + pad);
        let addr = storage.as_ptr() as usize;
        let offset = (addr.next_multiple_of(Self::HUGE_PAGE) - addr) / 8;
        let end = (addr + (words + pad) * 8) / Self::HUGE_PAGE * Self::HUGE_PAGE;
        advise_huge_pages(addr + offset * 8, end.saturating_sub(addr + offset * 8));
        storage.extend(0..(words + pad) as u64);
        HugeBuffer {
            storage,
            offset,
            words,
        }
    }

    fn words(&self) -> &[u64] {
        &self.storage[self.offset..self.offset + self.words]
    }
}

/// Asks for transparent huge pages over `[start, start + len)`: advisory, so a kernel without THP
/// (or a non-Linux system) leaves normal pages, and the bound is what those pages give.
fn advise_huge_pages(start: usize, len: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside a live allocation owned by the caller; madvise changes how
    // pages are backed, not their contents, and its error (no THP) is ignored on purpose.
    unsafe {
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// Wrapping sum of `data`, read as [`STREAMS`] parts at once (the sum keeps the loads alive).
fn read_parts(data: &[u64]) -> u64 {
    let part = data.len() / STREAMS / STEP_WORDS * STEP_WORDS;
    let parts = [0, 1, 2, 3].map(|s| &data[s * part..(s + 1) * part]);
    let rest = data[STREAMS * part..]
        .iter()
        .fold(0u64, |a, x| a.wrapping_add(*x));
    rest.wrapping_add(sum_parts(parts))
}

/// Words read from one part before moving to the next: four 64-byte lines.
const STEP_WORDS: usize = 32;

/// Sum of four equal parts (lengths a multiple of [`STEP_WORDS`]), read at once.
///
/// With explicit 32-byte vector adds where AVX2 is detected: 16-byte loads read ~20 % less than
/// Raptors's AVX2 kernels, so the "bound" sat below them. Offsets use `wrapping_add`, which carries
/// no debug-assertion precondition check (xtask runs this in its dev profile; see Cargo.toml).
#[cfg(target_arch = "x86_64")]
fn sum_parts(parts: [&[u64]; STREAMS]) -> u64 {
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected on this CPU just above.
        unsafe { sum_parts_avx2(parts) }
    } else {
        sum_parts_portable(parts)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_parts_avx2(parts: [&[u64]; STREAMS]) -> u64 {
    use std::arch::x86_64::*;
    let steps = parts[0].len() / STEP_WORDS;
    // SAFETY: AVX2 is enabled for this function (its caller detected it). Every load reads 4
    // words at `parts[s][i * STEP_WORDS + 4 * k]` with i < steps and k < STEP_WORDS / 4, inside
    // part s (each part holds steps * STEP_WORDS words); loadu has no alignment requirement.
    unsafe {
        let mut acc = [_mm256_setzero_si256(); 2 * STREAMS];
        for i in 0..steps {
            for (s, p) in parts.iter().enumerate() {
                let q = p.as_ptr().wrapping_add(i * STEP_WORDS) as *const __m256i;
                for k in 0..STEP_WORDS / 4 {
                    let a = &mut acc[2 * s + k % 2];
                    *a = _mm256_add_epi64(*a, _mm256_loadu_si256(q.wrapping_add(k)));
                }
            }
        }
        let mut words = [0u64; 8 * STREAMS];
        for (k, a) in acc.iter().enumerate() {
            _mm256_storeu_si256(words.as_mut_ptr().wrapping_add(4 * k) as *mut __m256i, *a);
        }
        words.iter().fold(0u64, |a, x| a.wrapping_add(*x))
    }
}

#[cfg(target_arch = "aarch64")]
fn sum_parts(parts: [&[u64]; STREAMS]) -> u64 {
    use std::arch::aarch64::*;
    let steps = parts[0].len() / STEP_WORDS;
    // SAFETY: NEON is part of the aarch64 baseline. Every load reads 2 words at
    // `parts[s][i * STEP_WORDS + 2 * k]` with i < steps and k < STEP_WORDS / 2, inside part s
    // (each part holds steps * STEP_WORDS words).
    unsafe {
        let mut acc = [vdupq_n_u64(0); 2 * STREAMS];
        for i in 0..steps {
            for (s, p) in parts.iter().enumerate() {
                let q = p.as_ptr().wrapping_add(i * STEP_WORDS);
                for k in 0..STEP_WORDS / 2 {
                    let a = &mut acc[2 * s + k % 2];
                    *a = vaddq_u64(*a, vld1q_u64(q.wrapping_add(2 * k)));
                }
            }
        }
        acc.iter().fold(0u64, |a, v| a.wrapping_add(vaddvq_u64(*v)))
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn sum_parts(parts: [&[u64]; STREAMS]) -> u64 {
    sum_parts_portable(parts)
}

/// [`sum_parts`] in plain Rust (the compiler vectorises it with the baseline ISA; x86-64 without
/// AVX2 reads at about the speed of explicit SSE2 this way).
#[cfg(not(target_arch = "aarch64"))]
fn sum_parts_portable(parts: [&[u64]; STREAMS]) -> u64 {
    const LINE: usize = 8;
    let mut acc = [[0u64; LINE / 2]; STREAMS];
    for i in 0..parts[0].len() / STEP_WORDS {
        for (s, p) in parts.iter().enumerate() {
            for line in p[i * STEP_WORDS..(i + 1) * STEP_WORDS].chunks_exact(LINE) {
                for (k, x) in line.iter().enumerate() {
                    acc[s][k % (LINE / 2)] = acc[s][k % (LINE / 2)].wrapping_add(*x);
                }
            }
        }
    }
    acc.iter().flatten().fold(0u64, |a, x| a.wrapping_add(*x))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word is read exactly once, whatever the length (parts, lines, the rest).
    #[test]
    fn the_reader_reads_every_word_once() {
        for len in [0usize, 1, 7, 31, 32, 33, 1000, 4099] {
            let data: Vec<u64> = (1..=len as u64).collect();
            assert_eq!(read_parts(&data), (len * (len + 1) / 2) as u64, "len {len}");
        }
    }

    /// The portable reader too, which a machine with AVX2 never picks.
    #[cfg(not(target_arch = "aarch64"))]
    #[test]
    fn the_portable_reader_sums_the_same() {
        let data: Vec<u64> = (1..=4 * 3 * STEP_WORDS as u64).collect();
        let part = data.len() / STREAMS;
        let parts = [0, 1, 2, 3].map(|s| &data[s * part..(s + 1) * part]);
        let n = data.len() as u64;
        assert_eq!(sum_parts_portable(parts), n * (n + 1) / 2);
    }

    #[test]
    fn cache_sizes_parse_as_linux_writes_them() {
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("1M"), Some(1 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size("12X"), None);
        assert_eq!(parse_cache_size(""), None);
    }

    /// The words start on a huge-page boundary and hold what was written.
    #[test]
    fn a_huge_buffer_holds_its_words_in_order() {
        let b = HugeBuffer::new(1000);
        assert_eq!(b.words().len(), 1000);
        assert_eq!(b.words()[0] + 999, b.words()[999]);
        assert_eq!(b.words().as_ptr() as usize % HugeBuffer::HUGE_PAGE, 0);
    }

    #[test]
    fn the_better_probe_sets_each_bound_and_both_are_named() {
        let probe = |c, d| Measured {
            cache_gbs: c,
            dram_gbs: d,
            method: "m".into(),
        };
        let best = Measured::best_of(Some(&probe(120.0, 20.0)), &probe(100.0, 25.0));
        assert_eq!((best.cache_gbs, best.dram_gbs), (120.0, 25.0));
        assert!(
            best.method.contains("(cache 120 GB/s, DRAM 20 GB/s)"),
            "{}",
            best.method
        );
        assert!(
            best.method.contains("after it (100, 25)"),
            "{}",
            best.method
        );
        let only_after = Measured::best_of(None, &probe(100.0, 25.0));
        assert_eq!((only_after.cache_gbs, only_after.dram_gbs), (100.0, 25.0));
        assert!(only_after.method.starts_with("measured after the runner"));
    }

    #[test]
    fn bounds_are_positive_and_named() {
        let m = measure(2, 1 << 20);
        assert!(m.cache_gbs.is_finite() && m.cache_gbs > 0.0, "{m:?}");
        assert!(m.dram_gbs.is_finite() && m.dram_gbs > 0.0, "{m:?}");
        assert!(
            m.method.contains("256 KiB") && m.method.contains("64 MiB"),
            "{}",
            m.method
        );
    }
}
