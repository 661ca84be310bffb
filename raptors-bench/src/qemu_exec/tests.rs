use super::*;

#[test]
fn the_driver_directory_holds_what_the_driver_imports() {
    assert_eq!(
        crate::runner::unshipped_imports(&driver_files()),
        Vec::<String>::new()
    );
}

fn line(pc: u64) -> String {
    format!("Trace 0: 0x7fc2fc0df9c0 [0000000001009731/{pc:016x}/00000001/00080200] ")
}

#[test]
fn log_parts_split_at_the_marker_and_count_blocks() {
    let marker = 0x55_00a5_d300;
    let mut log = String::from("not a trace line\n");
    for pc in [0x10, 0x10, 0x20] {
        log += &line(pc);
        log.push('\n');
    }
    log += &line(marker);
    log.push('\n');
    log += &line(0x30);
    log += "\nTrace 0: garbage [zz/qq]\n";
    log += &line(marker);
    log.push('\n');
    let parts = parse_log(log.as_bytes(), marker).unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], BTreeMap::from([(0x10, 2), (0x20, 1)]));
    assert_eq!(parts[1], BTreeMap::from([(0x30, 1)]));
    assert!(parts[2].is_empty());
}

#[test]
fn blocks_are_keyed_by_file_offset_of_their_library() {
    let maps = vec![
        Mapping {
            path: "/a/np.so".into(),
            start: 0x5500_0000,
            end: 0x5500_1000,
            offset: 0x3_0000,
        },
        Mapping {
            path: "/a/raptors.so".into(),
            start: 0x5600_0000,
            end: 0x5600_1000,
            offset: 0,
        },
    ];
    let part = BTreeMap::from([
        (0x5500_0010, 5),
        (0x5500_1000, 7), // one past the end: not the library's
        (0x5600_0ff0, 2),
        (0x10, 1),
    ]);
    let np = blocks_in(&part, &maps, "/a/np.so");
    assert_eq!(np.blocks, BTreeMap::from([(0x3_0010, 5)]));
    assert_eq!(np.executed_blocks, 5);
    let r = blocks_in(&part, &maps, "/a/raptors.so");
    assert_eq!(r.blocks, BTreeMap::from([(0xff0, 2)]));
    // Each mapping widened by 16 MiB either side (saturating at 0).
    assert_eq!(
        dfilter(&maps, &[], 0x77),
        "0x54000000..0x56000fff,0x55000000..0x57000fff,0x77..0x7a"
    );
    // ... but never into another executable mapping: the interpreter 8 MiB below NumPy's module,
    // libc between the two libraries.
    let others = [(0x5480_0000, 0x5490_0000), (0x5580_0000, 0x5581_0000)];
    assert_eq!(
        dfilter(&maps, &others, 0x77),
        "0x54900000..0x557fffff,0x55810000..0x57000fff,0x77..0x7a"
    );
    let moved = |by: u64| {
        let mut m = maps.clone();
        m[1].start += by;
        m[1].end += by;
        m
    };
    assert!(covered(&maps, &[], &maps));
    assert!(
        covered(&maps, &[], &moved(0x6_0000)),
        "a few hundred KiB: inside"
    );
    assert!(!covered(&maps, &[], &moved(32 << 20)), "32 MiB: outside");
    let mut renamed = maps.clone();
    renamed[0].path = "/b/np.so".into();
    assert!(!covered(&maps, &[], &renamed), "another file");
    let mut below_libc = maps.clone();
    (below_libc[1].start, below_libc[1].end) = (0x5570_0000, 0x5570_1000);
    assert!(covered(&maps, &[], &below_libc));
    assert!(
        !covered(&maps, &others, &below_libc),
        "moved below libc's end: outside the clipped window"
    );
}

#[test]
fn driver_output_gives_marker_maps_and_errors() {
    let out = parse_driver_output(
        "{\"marker\": 365083087616}\n\n\
         {\"maps\": [{\"path\": \"/x.so\", \"start\": 1, \"end\": 2, \"offset\": 0}]}\n\
         {\"others\": [[4096, 8192], [16, 32]]}\n\
         {\"op\": \"add\", \"side\": \"raptors\", \"error\": \"ValueError: no C entry\"}\n",
    )
    .unwrap();
    assert_eq!(out.marker, Some(365083087616));
    assert_eq!(out.maps.len(), 1);
    assert_eq!(out.others, vec![(4096, 8192), (16, 32)]);
    assert_eq!(
        out.errors,
        vec![(
            "add".into(),
            "raptors".into(),
            "ValueError: no C entry".into()
        )]
    );
    let err =
        parse_driver_output("{\"marker\": 1}\nTraceback (most recent call last):\n").unwrap_err();
    assert!(
        format!("{err:#}").contains("driver output line 2"),
        "{err:#}"
    );
}

#[test]
fn bad_options_are_refused_before_anything_runs() {
    let o = QemuExecOptions {
        userland: Userland {
            root: "/nonexistent".into(),
            python: "/usr/bin/python3".into(),
            qemu: "/nonexistent/qemu".into(),
        },
        numpy_site: "/nonexistent".into(),
        raptors_lib: "/nonexistent.so".into(),
        ops: vec!["no_such_op".into()],
        dtypes: vec!["f32".into()],
        size: 8,
        reps: 1,
        work_dir: std::env::temp_dir().join("raptors-qemu-exec-test"),
    };
    let err = run(&o).unwrap_err();
    assert!(format!("{err:#}").contains("no_such_op"), "{err:#}");
    let o = QemuExecOptions {
        ops: vec!["sum".into()],
        ..o
    };
    let err = run(&o).unwrap_err();
    assert!(format!("{err:#}").contains("qemu-user"), "{err:#}");
}
