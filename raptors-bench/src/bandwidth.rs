//! The machine's read bandwidth, measured: the bound a comparison's cells are set against.
//!
//! A reduction or element-wise call cannot run faster than its bytes can be read, so the report
//! gives each cell's GB/s as a fraction of what this machine reads with the same number of threads
//! Raptors uses: from the last-level cache (a buffer that fits it, read over and over) and from
//! DRAM (a buffer four times its size). The reader is independent of Raptors's kernels (a bound
//! measured with the kernels under test would only restate them): 64-bit integer adds in eight
//! chains over four parts at once (the L2 prefetchers follow each stream; one stream reads
//! 15-25 % slower on Zen 3), with the widest plain vector loads (AVX2 where detected, NEON, else
//! what the compiler makes of plain Rust). Each thread times its own repetitions; the bound is the sum over threads of bytes /
//! 10th-percentile repetition time. Cells whose working set fits the L2 caches can exceed it.

use std::time::Instant;

/// What [`measure`] found, and how.
#[derive(Clone, Debug)]
pub struct Measured {
    pub cache_gbs: f64,
    pub dram_gbs: f64,
    /// One line for the report: buffer sizes, threads, repetitions.
    pub method: String,
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
    let (cache_reps, dram_reps) = (200, 7);
    let cache_gbs = read_gbs(cache_bytes as usize, threads, cache_reps);
    let dram_gbs = read_gbs(dram_bytes as usize, threads, dram_reps);
    Measured {
        cache_gbs,
        dram_gbs,
        method: format!(
            "measured after the runner: {} read {cache_reps} times (cache) and {} read \
             {dram_reps} times (DRAM) by {threads} thread(s), each its own part, four streams \
             each; bytes / 10th-percentile time, summed over threads",
            human(cache_bytes),
            human(dram_bytes)
        ),
    }
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Aggregate GB/s of `threads` threads each reading its part of a `bytes` buffer `reps` times.
fn read_gbs(bytes: usize, threads: usize, reps: usize) -> f64 {
    let words = bytes / 8;
    // Written once so every page is mapped before the timed reads (no first-touch faults).
    let buf: Vec<u64> = (0..words as u64).collect();
    let per = words / threads;
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let part = &buf[t * per..(t + 1) * per];
                s.spawn(move || {
                    let mut times = Vec::with_capacity(reps);
                    let mut check = 0u64;
                    for _ in 0..reps {
                        let start = Instant::now();
                        check = check.wrapping_add(read_parts(part));
                        times.push(start.elapsed().as_secs_f64());
                    }
                    std::hint::black_box(check);
                    times.sort_by(f64::total_cmp);
                    // A bound: the fast end of the repetitions (the machine is shared and noisy).
                    (part.len() * 8) as f64 / times[times.len() / 10] / 1e9
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0.0))
            .collect()
    });
    per_thread.iter().sum()
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
