//! Behaviour of the public API on small hand-checked cases (every available level).

use raptors_kernels::*;

fn v<'a, T: Element>(d: &'a [T], s: &[usize]) -> ArrayView<'a, T> {
    ArrayView::from_slice(d, Shape::new(s).unwrap()).unwrap()
}

#[test]
fn binary_broadcasting_all_levels() {
    let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let row = [10.0f32, 20.0, 30.0];
    let col = [100.0f32, 200.0];
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        let r = k
            .binary(BinaryOp::Add, v(&a, &[2, 3]), v(&row, &[3]))
            .unwrap();
        assert_eq!(
            r.as_slice(),
            &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0],
            "{level}"
        );
        let r = k
            .binary(BinaryOp::Sub, v(&a, &[2, 3]), v(&col, &[2, 1]))
            .unwrap();
        assert_eq!(
            r.as_slice(),
            &[-99.0, -98.0, -97.0, -196.0, -195.0, -194.0],
            "{level}"
        );
        let r = k
            .binary_scalar(BinaryOp::Div, v(&a, &[2, 3]), 2.0, ScalarSide::Left)
            .unwrap();
        assert_eq!(
            r.as_slice(),
            &[2.0, 1.0, 2.0 / 3.0, 0.5, 0.4, 2.0 / 6.0],
            "{level}"
        );
        let r = k
            .binary(BinaryOp::Mul, v(&col, &[2, 1]), v(&row, &[3]))
            .unwrap();
        assert_eq!(r.shape(), Shape::d2(2, 3));
        assert_eq!(
            r.as_slice(),
            &[1000.0, 2000.0, 3000.0, 2000.0, 4000.0, 6000.0]
        );
    }
}

#[test]
fn reductions_all_axes() {
    let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    for level in available_levels() {
        let k = Kernels::for_level(level).unwrap();
        let x = v(&a, &[2, 3]);
        assert_eq!(
            k.reduce(ReduceOp::Sum, x, None).unwrap(),
            Reduced::Scalar(21.0)
        );
        assert_eq!(
            k.reduce(ReduceOp::Mean, x, None).unwrap(),
            Reduced::Scalar(3.5)
        );
        assert_eq!(
            k.reduce(ReduceOp::Min, x, None).unwrap(),
            Reduced::Scalar(1.0)
        );
        assert_eq!(
            k.reduce(ReduceOp::Max, x, None).unwrap(),
            Reduced::Scalar(6.0)
        );
        let Reduced::Array(s0) = k.reduce(ReduceOp::Sum, x, Some(0)).unwrap() else {
            panic!()
        };
        assert_eq!(s0.as_slice(), &[5.0, 7.0, 9.0]);
        let Reduced::Array(m1) = k.reduce(ReduceOp::Mean, x, Some(-1)).unwrap() else {
            panic!()
        };
        assert_eq!(m1.as_slice(), &[2.0, 5.0]);
        let Reduced::Array(mx) = k.reduce(ReduceOp::Max, x, Some(-2)).unwrap() else {
            panic!()
        };
        assert_eq!(mx.as_slice(), &[4.0, 5.0, 6.0]);
        assert_eq!(
            k.reduce(ReduceOp::Min, v(&a, &[6]), Some(0)).unwrap(),
            Reduced::Scalar(1.0)
        );
    }
}

#[test]
fn errors_use_numpy_wording() {
    let a = [0.0f32; 6];
    let b = [0.0f32; 4];
    let e = binary(BinaryOp::Add, v(&a, &[2, 3]), v(&b, &[4])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "operands could not be broadcast together with shapes (2, 3) (4,)"
    );
    let e = reduce(ReduceOp::Sum, v(&a, &[2, 3]), Some(2)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "axis 2 is out of bounds for array of dimension 2"
    );
    let empty: [f32; 0] = [];
    let e = reduce(ReduceOp::Min, v(&empty, &[0]), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "zero-size array to reduction operation minimum which has no identity"
    );
    assert_eq!(
        Shape::new(&[1, 2, 3]).unwrap_err().to_string(),
        "raptors supports arrays with at most 2 dimensions, got 3"
    );
    let mut out = [7.0f32; 3];
    let e = binary_into(
        BinaryOp::Add,
        v(&a, &[2, 3]),
        v(&a, &[2, 3]),
        ArrayViewMut::from_slice(&mut out, Shape::d1(3)).unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "non-broadcastable output operand with shape (3,) doesn't match the broadcast shape (2, 3)"
    );
    assert_eq!(out, [7.0; 3]);
}

#[test]
fn empty_inputs() {
    let empty: [f64; 0] = [];
    let x = v(&empty, &[0, 3]);
    assert_eq!(
        reduce(ReduceOp::Sum, x, None).unwrap(),
        Reduced::Scalar(0.0)
    );
    let Reduced::Scalar(m) = reduce(ReduceOp::Mean, x, None).unwrap() else {
        panic!()
    };
    assert!(m.is_nan());
    let Reduced::Array(s) = reduce(ReduceOp::Sum, x, Some(0)).unwrap() else {
        panic!()
    };
    assert_eq!(s.as_slice(), &[0.0; 3]);
    let Reduced::Array(s) = reduce(ReduceOp::Max, x, Some(1)).unwrap() else {
        panic!()
    };
    assert_eq!(s.shape(), Shape::d1(0));
    assert!(reduce(ReduceOp::Max, x, Some(0)).is_err());
    let r = binary(BinaryOp::Add, x, x).unwrap();
    assert_eq!(r.shape(), Shape::d2(0, 3));
}

#[test]
fn axis_normalisation_is_numpys() {
    assert_eq!(normalize_axis(-1, 2), Ok(1));
    assert_eq!(normalize_axis(-2, 2), Ok(0));
    assert_eq!(normalize_axis(0, 1), Ok(0));
    for (axis, ndim) in [(2, 2), (-3, 2), (1, 1), (0, 0), (-1, 0)] {
        let e = normalize_axis(axis, ndim).unwrap_err();
        assert_eq!(e, KernelError::AxisOutOfBounds { axis, ndim });
        assert_eq!(
            e.to_string(),
            format!("axis {axis} is out of bounds for array of dimension {ndim}")
        );
    }
    let s = Shape::d2(4, 0);
    assert_eq!(reduction_len(s, None), Ok(0));
    assert_eq!(reduction_len(s, Some(0)), Ok(4));
    assert_eq!(reduction_len(s, Some(-1)), Ok(0));
    assert_eq!(reduction_len(Shape::scalar(), None), Ok(1));
    assert!(reduction_len(Shape::d1(3), Some(1)).is_err());
}

#[test]
fn dtype_sizes_and_c_strides() {
    assert_eq!(DType::F32.itemsize(), 4);
    assert_eq!(DType::F64.itemsize(), 8);
    assert_eq!(
        <f32 as Element>::DTYPE.itemsize(),
        std::mem::size_of::<f32>()
    );
    assert_eq!(c_strides(Shape::d2(0, 7)), [7, 1]);
    let a = Array::from_vec(vec![0.0f64; 6], Shape::d2(2, 3)).unwrap();
    assert_eq!(a.view().strides(), c_strides(Shape::d2(2, 3)));
}
