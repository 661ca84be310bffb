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
