use std::path::{Path, PathBuf};

use super::*;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/callgrind")
        .join(name)
}

const PROGRAM: &str = "/tmp/cg2/loops";

#[test]
fn compressed_and_plain_recordings_parse_alike() {
    let c = read_dumps(&data("compressed.out")).unwrap();
    let p = read_dumps(&data("plain.out")).unwrap();
    assert_eq!(c.len(), 4);
    assert_eq!(
        c.iter().map(|d| d.part).collect::<Vec<_>>(),
        vec![1, 2, 3, 4],
        "the file written at exit (no suffix) is the last part"
    );
    for (a, b) in c.iter().zip(&p) {
        assert_eq!(a.functions, b.functions, "part {}", a.part);
        assert_eq!(a.instructions, b.instructions, "part {}", a.part);
        assert_eq!(a.total_ir, b.total_ir);
        // Self costs add up to the whole part (nothing double counted through call lines).
        assert_eq!(a.functions.iter().map(|f| f.ir).sum::<u64>(), a.total_ir);
    }
    assert_eq!(c[1].trigger, "--dump-before=getppid");
    assert_eq!(c[3].trigger, "Program termination");
}

#[test]
fn per_instruction_counts_match_the_program() {
    // loops.c: REPS = 10 calls of a loop over N = 1000 elements per part.
    let dumps = read_dumps(&data("compressed.out")).unwrap();
    for (part, func) in [(1, "add"), (2, "acc")] {
        let d = &dumps[part];
        let f = d
            .functions
            .iter()
            .find(|f| f.function == func && f.object == PROGRAM)
            .unwrap();
        let counts = &d.instructions[PROGRAM];
        let entry = f.entry.unwrap();
        assert_eq!(counts[&entry], 10, "{func} entered once per call");
        let body: Vec<u64> = counts.values().copied().filter(|&n| n == 10_000).collect();
        assert!(
            body.len() >= 3,
            "{func}: loop body instructions run 10 × 1000 times: {counts:?}"
        );
        // The function's self cost is the sum of its instructions' executions.
        let next = d
            .functions
            .iter()
            .filter(|g| g.object == PROGRAM)
            .filter_map(|g| g.entry)
            .filter(|&e| e > entry)
            .min()
            .unwrap_or(u64::MAX);
        let in_func: u64 = counts.range(entry..next).map(|(_, n)| n).sum();
        assert_eq!(in_func, f.ir, "{func}");
        let lib = library_profile(d, Path::new(PROGRAM)).unwrap();
        assert_eq!(lib.hottest().unwrap().name, func);
        assert!(lib.share(lib.hottest().unwrap()) > 0.99);
    }
}

fn sample_dump(object: &str, costs: &[(&str, u64)]) -> Dump {
    Dump {
        part: 0,
        trigger: String::new(),
        total_ir: costs.iter().map(|c| c.1).sum::<u64>() + 100,
        functions: costs
            .iter()
            .enumerate()
            .map(|(i, (f, ir))| FnCost {
                object: object.to_string(),
                function: f.to_string(),
                ir: *ir,
                entry: Some(0x1000 * (i as u64 + 1)),
            })
            .collect(),
        instructions: BTreeMap::from([(
            object.to_string(),
            BTreeMap::from([(0x1000, 5), (0x1004, 600)]),
        )]),
    }
}

#[test]
fn attribution_maps_parts_to_ops_and_reports_errors() {
    let np = Path::new("/venv/numpy/_multiarray_umath.so");
    let rp = Path::new("/venv/raptors/_raptors.so");
    let numpy = sample_dump(
        "/venv/numpy/_multiarray_umath.so",
        &[("FLOAT_add_X86_V3", 650), ("FLOAT_pairwise_sum", 100)],
    );
    let raptors = sample_dump("/venv/raptors/_raptors.so", &[("add_f32", 300)]);
    let setup = Dump::default();
    let ops = vec![("add".to_string(), vec![64, 64])];
    assert!(attribute(std::slice::from_ref(&setup), &ops, "f32", 2, np, rp, &[]).is_err());
    let dumps = vec![setup.clone(), numpy, raptors, setup];
    let hot = attribute(&dumps, &ops, "f32", 2, np, rp, &[]).unwrap();
    let n = hot[0].numpy.as_ref().unwrap();
    assert_eq!(n.hottest().unwrap().name, "FLOAT_add_X86_V3");
    assert_eq!(n.library_ir, 750);
    assert!((n.share(n.hottest().unwrap()) - 650.0 / 750.0).abs() < 1e-12);
    assert_eq!(n.instructions[&0x1004], 600);
    assert_eq!(hot[0].elements, 2 * 64 * 64);
    let (np_ipe, rp_ipe) = hot[0].ir_per_element();
    assert!((np_ipe.unwrap() - 750.0 / 8192.0).abs() < 1e-12);
    assert!((rp_ipe.unwrap() - 300.0 / 8192.0).abs() < 1e-12);
    let errors = vec![("add".into(), "raptors".into(), "TypeError: nope".into())];
    let hot = attribute(&dumps, &ops, "f32", 2, np, rp, &errors).unwrap();
    assert!(hot[0]
        .raptors
        .as_ref()
        .unwrap_err()
        .contains("TypeError: nope"));
    // The wrong library: said so, with the objects that did run.
    let hot = attribute(&dumps, &ops, "f32", 2, rp, np, &[]).unwrap();
    let e = hot[0].numpy.as_ref().unwrap_err();
    assert!(e.contains("_multiarray_umath.so"), "{e}");
}

#[test]
fn driver_output_and_reported_libraries() {
    let out = parse_driver_output(
        "{\"op\": \"sum\", \"side\": \"raptors\", \"error\": \"ValueError: x\"}\nnoise\n\
         {\"modules\": {\"numpy._core._multiarray_umath\": \"/np/umath.so\", \"raptors._raptors\": \"/r/_raptors.so\"}}\n\
         {\"simd_level\": \"avx2\"}\n",
    );
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.simd_level.as_deref(), Some("avx2"));
    let (n, r) = reported_libraries(&out.modules);
    assert_eq!(n.unwrap(), PathBuf::from("/np/umath.so"));
    assert_eq!(r.unwrap(), PathBuf::from("/r/_raptors.so"));
    // The stand-in raptors (NumPy itself) has no extension module: no guess.
    let (_, r) = reported_libraries(&BTreeMap::from([(
        "numpy._core._multiarray_umath".to_string(),
        "/np/umath.so".to_string(),
    )]));
    assert!(r.is_none());
}

#[test]
fn the_command_forces_the_level_and_one_thread() {
    let opts = CallgrindOptions::new("/venv/bin/python");
    let level = crate::valgrind::choose_level("aarch64", |_| Ok(())).unwrap();
    let cmd = driver_command(
        &opts,
        &level,
        Path::new("/s/callgrind_driver.py"),
        "f64",
        Path::new("/w/callgrind.out"),
    );
    let line = command_line(&cmd);
    for part in [
        "RAPTORS_SIMD=neon",
        "RAPTORS_THREADS=1",
        "valgrind --tool=callgrind --dump-before=getppid --dump-instr=yes",
        "--callgrind-out-file=/w/callgrind.out /venv/bin/python /s/callgrind_driver.py --dtype f64",
        "--ops sum,mean,mean_axis0,mean_axis1,broadcast_add_row,broadcast_add_col,add,scale",
        "--size 512 --reps 20",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }
}

#[test]
fn unknown_ops_and_dtypes_are_refused_before_anything_runs() {
    let mut opts = CallgrindOptions::new("/nonexistent/python");
    opts.ops = vec!["cumsum".into()];
    let e = run(&opts).unwrap_err().to_string();
    assert!(
        e.contains("unknown op \"cumsum\"") && e.contains("known ops: sum"),
        "{e}"
    );
    opts.ops = vec!["sum".into()];
    opts.dtypes = vec!["f16".into()];
    assert!(run(&opts)
        .unwrap_err()
        .to_string()
        .contains("unknown dtype"));
    opts.dtypes = vec!["f32".into()];
    opts.reps = 0;
    assert!(run(&opts).is_err());
}
