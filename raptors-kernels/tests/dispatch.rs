//! `RAPTORS_SIMD` / `RAPTORS_THREADS` parsing (pure functions, no process-env mutation) and one
//! child process per level proving `Kernels::active()` honours the variable.

use raptors_kernels::*;

#[test]
fn resolver_accepts_every_available_level_and_auto() {
    for level in available_levels() {
        assert_eq!(resolve_simd_env(Some(level.name())), Ok(level));
        let shouted = format!("  {}  ", level.name().to_uppercase());
        assert_eq!(resolve_simd_env(Some(&shouted)), Ok(level));
        assert_eq!(level.name().parse::<SimdLevel>(), Ok(level));
        assert_eq!(level.to_string(), level.name());
    }
    let best = *available_levels().last().unwrap();
    assert_eq!(best_level(), best);
    for auto in [None, Some(""), Some("auto"), Some("AUTO")] {
        assert_eq!(resolve_simd_env(auto), Ok(best), "{auto:?}");
    }
    assert_eq!(available_levels()[0], SimdLevel::Scalar);
}

#[test]
fn resolver_rejects_unknown_and_unavailable_levels() {
    for bad in ["bogus", "avx", "sse4", "avx-512", "1"] {
        let e = resolve_simd_env(Some(bad)).unwrap_err();
        assert_eq!(e, KernelError::InvalidSimdEnv { value: bad.into() });
        assert!(e
            .to_string()
            .contains("expected one of scalar, sse2, avx2, avx512, neon, auto"));
    }
    let unavailable: Vec<SimdLevel> = SimdLevel::ALL
        .into_iter()
        .filter(|l| !l.is_available())
        .collect();
    // NEON on x86-64 or the x86 levels on aarch64: at least one level is always foreign.
    assert!(!unavailable.is_empty());
    for level in unavailable {
        let e = resolve_simd_env(Some(level.name())).unwrap_err();
        assert!(
            matches!(e, KernelError::SimdUnavailable { level: l, .. } if l == level),
            "{e}"
        );
        assert!(matches!(
            Kernels::for_level(level),
            Err(KernelError::SimdUnavailable { .. })
        ));
    }
}

#[test]
fn threads_parser() {
    assert_eq!(parse_threads_env(None, 3), Ok(3));
    assert_eq!(parse_threads_env(Some(" "), 3), Ok(3));
    assert_eq!(parse_threads_env(Some("1"), 3), Ok(1));
    assert_eq!(parse_threads_env(Some(" 8 "), 3), Ok(8));
    for bad in ["0", "-1", "two", "1.5"] {
        assert!(parse_threads_env(Some(bad), 3).is_err(), "{bad}");
    }
}

/// Child half of `env_var_selects_the_level`: reports what the process-wide dispatch chose.
#[test]
#[ignore = "run by env_var_selects_the_level in a child process"]
fn child_report_level() {
    match simd_level() {
        Ok(l) => println!("RAPTORS-LEVEL={l}"),
        Err(e) => println!("RAPTORS-ERROR={e}"),
    }
}

fn run_child(value: &str) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let args = ["--ignored", "--exact", "child_report_level", "--nocapture"];
    let report = |cmd: &mut std::process::Command| -> Option<String> {
        let out = cmd.args(args).env("RAPTORS_SIMD", value).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("RAPTORS-"))
            .map(str::to_string)
    };
    report(&mut std::process::Command::new(&exe)).or_else(|| {
        // Under qemu-user without binfmt_misc a guest binary cannot exec itself (exit 127); the
        // emulator is a host binary, which qemu-user execs natively, and can run it.
        if cfg!(target_arch = "aarch64") {
            report(std::process::Command::new("qemu-aarch64-static").arg(&exe))
        } else {
            None
        }
    })
}

#[test]
fn env_var_selects_the_level() {
    // Under qemu-user a child exec only works with binfmt_misc; report instead of skipping quietly.
    let Some(probe) = run_child("scalar") else {
        eprintln!(
            "SKIPPED env_var_selects_the_level: cannot run this test binary as a child process"
        );
        return;
    };
    assert_eq!(probe, "RAPTORS-LEVEL=scalar");
    for level in available_levels() {
        assert_eq!(
            run_child(level.name()).as_deref(),
            Some(format!("RAPTORS-LEVEL={level}").as_str())
        );
    }
    let err = run_child("bogus").unwrap();
    assert!(
        err.starts_with("RAPTORS-ERROR=invalid RAPTORS_SIMD value \"bogus\""),
        "{err}"
    );
    for level in SimdLevel::ALL.into_iter().filter(|l| !l.is_available()) {
        let err = run_child(level.name()).unwrap();
        assert!(
            err.starts_with(&format!(
                "RAPTORS-ERROR=SIMD level {level} is not available"
            )),
            "{err}"
        );
    }
}
