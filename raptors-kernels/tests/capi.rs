//! The `extern "C"` exports (feature `capi`): results and error codes.
#![cfg(feature = "capi")]

use raptors_kernels::capi::*;

#[test]
fn exports_compute_and_report_errors() {
    let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let mut out = [0f32; 6];
    let mut s = 0f32;
    // SAFETY: every pointer is valid for the lengths passed.
    unsafe {
        assert_eq!(raptors_sum_f32(a.as_ptr(), 6, &mut s), 0);
        assert_eq!(s, 21.0);
        assert_eq!(
            raptors_mean_axis0_f32(a.as_ptr(), 2, 3, out.as_mut_ptr()),
            0
        );
        assert_eq!(&out[..3], &[2.5, 3.5, 4.5]);
        assert_eq!(
            raptors_mean_axis1_f32(a.as_ptr(), 2, 3, out.as_mut_ptr()),
            0
        );
        assert_eq!(&out[..2], &[2.0, 5.0]);
        assert_eq!(
            raptors_add_row_f32(a.as_ptr(), 2, 3, a.as_ptr(), out.as_mut_ptr()),
            0
        );
        assert_eq!(out, [2.0, 4.0, 6.0, 5.0, 7.0, 9.0]);
        assert_eq!(raptors_scale_f32(a.as_ptr(), 2.0, out.as_mut_ptr(), 6), 0);
        assert_eq!(out, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
        assert_eq!(
            raptors_min_f32(a.as_ptr(), 0, &mut s),
            -1,
            "empty min is an error"
        );
        assert_eq!(
            raptors_add_f32(std::ptr::null(), a.as_ptr(), out.as_mut_ptr(), 6),
            -1
        );
        let b = [1.0f64, 2.0, 4.0];
        let mut d = 0f64;
        assert_eq!(raptors_max_f64(b.as_ptr(), 3, &mut d), 0);
        assert_eq!(d, 4.0);
    }
}

/// The generic entry points (op by name, shapes given) agree with the per-op exports and with the
/// scalar reference, and reject unknown names, shapes and axes.
#[test]
fn generic_entry_points_run_ops_by_name() {
    use std::ffi::CString;
    let a: Vec<f64> = (0..12).map(|i| i as f64 * 0.5 - 2.0).collect();
    let row = [1.0f64, 2.0, 3.0, 4.0];
    let col = [10.0f64, 20.0, 30.0];
    let c = |s: &str| CString::new(s).unwrap();
    let mut out = vec![0f64; 12];
    let mut want = vec![0f64; 12];
    // SAFETY: every pointer is valid for the shapes passed (3 x 4, rows of 4, columns of 3).
    unsafe {
        for (name, axis, n) in [
            ("sum", -1, 1),
            ("mean", 0, 4),
            ("max", 1, 3),
            ("min", -1, 1),
        ] {
            let op = c(name);
            assert_eq!(
                raptors_reduce_f64(op.as_ptr(), a.as_ptr(), 2, 3, 4, axis, out.as_mut_ptr()),
                0,
                "{name} axis {axis}"
            );
            let rc = match (name, axis) {
                ("sum", _) => raptors_sum_f64(a.as_ptr(), 12, want.as_mut_ptr()),
                ("mean", _) => raptors_mean_axis0_f64(a.as_ptr(), 3, 4, want.as_mut_ptr()),
                ("max", _) => {
                    // per row maximum: the last element of each row (increasing data)
                    for r in 0..3 {
                        want[r] = a[r * 4 + 3];
                    }
                    0
                }
                _ => raptors_min_f64(a.as_ptr(), 12, want.as_mut_ptr()),
            };
            assert_eq!(rc, 0);
            assert_eq!(out[..n], want[..n], "{name} axis {axis}");
        }
        // 1-D input: axis 0 is the whole array
        let op = c("sum");
        assert_eq!(
            raptors_reduce_f64(op.as_ptr(), a.as_ptr(), 1, 0, 12, 0, out.as_mut_ptr()),
            0
        );
        assert_eq!(out[0], a.iter().sum::<f64>());

        let add = c("add");
        assert_eq!(
            raptors_binary_f64(
                add.as_ptr(),
                a.as_ptr(),
                2,
                3,
                4,
                row.as_ptr(),
                1,
                0,
                4,
                out.as_mut_ptr()
            ),
            0
        );
        for i in 0..12 {
            assert_eq!(out[i], a[i] + row[i % 4]);
        }
        assert_eq!(
            raptors_binary_f64(
                add.as_ptr(),
                a.as_ptr(),
                2,
                3,
                4,
                col.as_ptr(),
                2,
                3,
                1,
                out.as_mut_ptr()
            ),
            0
        );
        for i in 0..12 {
            assert_eq!(out[i], a[i] + col[i / 4]);
        }
        let div = c("div");
        assert_eq!(
            raptors_binary_f64(
                div.as_ptr(),
                a.as_ptr(),
                1,
                0,
                12,
                a.as_ptr(),
                1,
                0,
                12,
                out.as_mut_ptr()
            ),
            0
        );
        assert!(out[4].is_nan(), "0/0 at index 4");
        assert_eq!(out[0], 1.0);
        let mul = c("mul");
        assert_eq!(
            raptors_binary_scalar_f64(mul.as_ptr(), a.as_ptr(), 2, 3, 4, 2.5, out.as_mut_ptr()),
            0
        );
        for i in 0..12 {
            assert_eq!(out[i], a[i] * 2.5);
        }

        // errors: unknown names, null name, bad ndim/axis, shapes that do not broadcast
        let bad = c("pow");
        assert_eq!(
            raptors_reduce_f64(bad.as_ptr(), a.as_ptr(), 2, 3, 4, -1, out.as_mut_ptr()),
            -1
        );
        assert_eq!(
            raptors_reduce_f64(std::ptr::null(), a.as_ptr(), 2, 3, 4, -1, out.as_mut_ptr()),
            -1
        );
        assert_eq!(
            raptors_reduce_f64(op.as_ptr(), a.as_ptr(), 3, 3, 4, -1, out.as_mut_ptr()),
            -1
        );
        assert_eq!(
            raptors_reduce_f64(op.as_ptr(), a.as_ptr(), 2, 3, 4, 2, out.as_mut_ptr()),
            -1
        );
        assert_eq!(
            raptors_binary_f64(
                bad.as_ptr(),
                a.as_ptr(),
                2,
                3,
                4,
                row.as_ptr(),
                1,
                0,
                4,
                out.as_mut_ptr()
            ),
            -1
        );
        assert_eq!(
            raptors_binary_f64(
                add.as_ptr(),
                a.as_ptr(),
                2,
                3,
                4,
                col.as_ptr(),
                1,
                0,
                3,
                out.as_mut_ptr()
            ),
            -1
        );
        let f = [1.5f32, 2.5];
        let mut o = [0f32; 2];
        let sub = c("sub");
        assert_eq!(
            raptors_binary_scalar_f32(sub.as_ptr(), f.as_ptr(), 1, 0, 2, 0.5, o.as_mut_ptr()),
            0
        );
        assert_eq!(o, [1.0, 2.0]);
    }
}
