//! The machine's read bandwidth, measured: the bound a comparison's cells are set against.
//!
//! A reduction or element-wise call cannot run faster than its bytes can be read, so the report
//! gives each cell's GB/s as a fraction of what this machine reads with the same number of threads
//! Raptors uses: from the last-level cache (a buffer that fits it, read over and over) and from
//! DRAM (a buffer four times its size). The reader is plain Rust, independent of Raptors's kernels
//! (a bound measured with the kernels under test would only restate them): 64-bit integer adds in
//! eight chains over four parts at once (the L2 prefetchers follow each stream; one stream reads
//! 15-25 % slower on Zen 3), compiled for the baseline ISA. Each thread times its own repetitions;
//! the bound is the sum over threads of bytes / median repetition time.

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
const STREAMS: usize = 4; // `read_parts` splits into exactly four

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
            "measured after the runner: {} read {cache_reps} times (cache) and {} read {dram_reps} times (DRAM) \
             by {threads} thread(s), each its own part, four streams each; bytes / median time, summed over threads",
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
                    (part.len() * 8) as f64 / times[times.len() / 2] / 1e9
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
    const LINE: usize = 8; // words per 64-byte line
    const STEP: usize = 4 * LINE; // read from one part before moving to the next
    let part = data.len() / STREAMS / STEP * STEP;
    let (p0, rest) = data.split_at(part);
    let (p1, rest) = rest.split_at(part);
    let (p2, rest) = rest.split_at(part);
    let (p3, rest) = rest.split_at(part);
    // Vertical adds into a half-line accumulator per stream: the compiler turns them into vector
    // adds (fixed-size arrays, no bounds checks in the loop) held in registers (eight 16-byte
    // registers on the baseline x86-64 ISA; a whole line each spilled to the stack). Four lines
    // of one part per visit.
    let mut acc = [[0u64; LINE / 2]; STREAMS];
    let steps = p0
        .chunks_exact(STEP)
        .zip(p1.chunks_exact(STEP))
        .zip(p2.chunks_exact(STEP))
        .zip(p3.chunks_exact(STEP));
    for (((a, b), c), d) in steps {
        for (s, step) in [a, b, c, d].into_iter().enumerate() {
            for line in step.chunks_exact(LINE) {
                let line: &[u64; LINE] = line.try_into().expect("chunks_exact gives whole lines");
                for k in 0..LINE {
                    acc[s][k % (LINE / 2)] = acc[s][k % (LINE / 2)].wrapping_add(line[k]);
                }
            }
        }
    }
    let rest = rest.iter().fold(0u64, |a, x| a.wrapping_add(*x));
    acc.iter().flatten().fold(rest, |a, x| a.wrapping_add(*x))
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
