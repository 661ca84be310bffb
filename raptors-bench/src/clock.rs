//! The core clock, measured without counters or privileges.
//!
//! A chain of dependent integer adds retires one add per cycle on every x86-64 and AArch64 core
//! this project targets (ALU add latency is 1 cycle), so adds per second is the clock the core ran
//! at while measuring, turbo included. That is the clock that turns measured nanoseconds into
//! cycles for the comparison with llvm-mca's predictions; `/proc/cpuinfo`'s "cpu MHz" is only the
//! nominal clock in a VM and is recorded next to it for reference.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Adds per inner block (written out by `.rept`: the loop's own increment and branch run beside
/// the chain on other ALUs and stay off its critical path).
const CHAIN_BLOCK: u64 = 64;
/// Blocks per timed run: about 6.4 M cycles, ~2 ms at 3 GHz.
const BLOCKS_PER_RUN: u64 = 100_000;
/// Timed runs; the fastest is kept (the one least disturbed by interrupts and other processes).
const RUNS: usize = 15;

/// A measured clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub ghz: f64,
    /// How it was measured (and the nominal clock, when the kernel reports one).
    pub source: String,
}

/// Measures the clock of the core this thread runs on (see the module docs). `Err` names why
/// there is no measurement (an architecture without the chain, or a result that makes no sense).
pub fn measure() -> Result<Clock, String> {
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let t = Instant::now();
        dependent_adds(BLOCKS_PER_RUN)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let ghz = (BLOCKS_PER_RUN * CHAIN_BLOCK) as f64 / best / 1e9;
    if !(0.05..20.0).contains(&ghz) {
        return Err(format!(
            "the dependent-add chain gave {ghz:.3} GHz, which is no real clock (emulated CPU?)"
        ));
    }
    let nominal = nominal_mhz()
        .map(|m| format!("; /proc/cpuinfo says {m:.0} MHz"))
        .unwrap_or_default();
    Ok(Clock {
        ghz,
        source: format!(
            "measured: a chain of {} dependent adds (1 cycle each), fastest of {RUNS} runs{nominal}",
            BLOCKS_PER_RUN * CHAIN_BLOCK
        ),
    })
}

/// The first "cpu MHz" of `/proc/cpuinfo` (nominal in a VM).
fn nominal_mhz() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

#[cfg(target_arch = "x86_64")]
fn dependent_adds(blocks: u64) -> Result<u64, String> {
    let mut x: u64 = 0;
    for _ in 0..blocks {
        // SAFETY: the block only adds to one register the asm! owns (`inout`); it touches no
        // memory and no stack, as the options declare.
        unsafe {
            std::arch::asm!(".rept 64", "add {x}, 1", ".endr", x = inout(reg) x, options(nomem, nostack));
        }
    }
    Ok(std::hint::black_box(x))
}

#[cfg(target_arch = "aarch64")]
fn dependent_adds(blocks: u64) -> Result<u64, String> {
    let mut x: u64 = 0;
    for _ in 0..blocks {
        // SAFETY: as on x86-64: register-only adds, no memory, no stack.
        unsafe {
            std::arch::asm!(".rept 64", "add {x}, {x}, #1", ".endr", x = inout(reg) x, options(nomem, nostack));
        }
    }
    Ok(std::hint::black_box(x))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn dependent_adds(_blocks: u64) -> Result<u64, String> {
    Err(format!(
        "no dependent-add chain for {}",
        std::env::consts::ARCH
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_runs_the_number_of_adds_it_claims() {
        // The clock is adds / seconds: the count must be exactly what `measure` divides by.
        assert_eq!(dependent_adds(1000), Ok(1000 * CHAIN_BLOCK));
    }

    #[test]
    fn measured_clock_is_plausible() {
        // Plausibility, not a speed: any real core runs between 0.05 and 20 GHz.
        let c = measure().expect("a clock on x86-64/aarch64");
        eprintln!("{c:?}");
        assert!(c.ghz > 0.05 && c.ghz < 20.0, "{c:?}");
        assert!(c.source.starts_with("measured"));
    }
}
