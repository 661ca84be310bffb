#!/usr/bin/env python3
"""Run each op REPS times on NumPy, then on the Raptors C API (ctypes), separated by marker calls.

usage: qemu_exec_driver.py --dtype f32 --ops sum,add --size 256 --reps 5 --raptors-lib libraptors_kernels.so
       [--probe]

Meant for an aarch64 Python under qemu-user with `QEMU_LOG=exec,nochain`: qemu then logs every
translation block it executes, and raptors-bench (src/qemu_exec.rs) counts them per block start.
Raptors runs through the generic entry points of raptors-kernels' `capi` feature
(`raptors_reduce_*`, `raptors_binary_*`, `raptors_binary_scalar_*`), called with the op table's
`kernel` call, so the library counted is exactly the cdylib that the profile disassembles.

Parts are separated by calls of libc's `getppid` (nothing else here calls it), whose address is
printed, as for callgrind: set-up (imports, arrays, one warm-up call of every op and side), then per op
the NumPy part and the Raptors part, then the teardown. `--probe` stops after printing the mappings,
so a first run can learn the load addresses (fixed under qemu-user: no ASLR) and the second can
limit logging to those ranges.

Prints JSON lines on stdout: {"marker": ADDRESS}, {"maps": [...]} (the executable mappings of NumPy's
core module and of the Raptors library), {"others": [[start, end], ...]} (every other executable
mapping), and {"op", "side", "error"} for a side that cannot run.
"""
import argparse
import ctypes
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import bench_ops  # noqa: E402  (shares the op table)


def say(obj):
    print(json.dumps(obj), flush=True)


def executable_mappings(paths):
    """Executable /proc/self/maps lines: those of the given files as dicts, and [start, end] of
    every other one (the interpreter, libc, ...: the counted run's log windows stop short of them)."""
    real = {os.path.realpath(p) for p in paths}
    mine, others = [], []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 2 or "x" not in parts[1]:
                continue
            start, end = (int(v, 16) for v in parts[0].split("-"))
            path = parts[5].strip() if len(parts) == 6 else ""
            if path and (os.path.realpath(path) in real or path in real):
                mine.append({"path": path, "start": start, "end": end, "offset": int(parts[2], 16)})
            else:
                others.append([start, end])
    return mine, others


def numpy_core_file():
    from numpy._core import _multiarray_umath as m

    return os.path.realpath(m.__file__)


def raptors_call(lib, suffix, op, arrays, out):
    """A function of no arguments that runs the op's kernel call once through the C API."""
    k = op["kernel"]
    x = arrays["x"]
    dims = lambda a: (a.ndim, a.shape[0] if a.ndim == 2 else 1, a.shape[-1])  # noqa: E731
    ptr = lambda a: ctypes.c_void_p(a.ctypes.data)  # noqa: E731
    name = k["op"].encode()
    res = None
    if k["call"] == "reduce":
        fn = getattr(lib, "raptors_reduce_" + suffix)
        axis = -1 if k["axis"] is None else int(k["axis"])
        res = np.empty(max(1, x.shape[1 - axis] if axis >= 0 and x.ndim == 2 else 1), dtype=x.dtype)
        args = (name, ptr(x), x.ndim, *dims(x)[1:], axis, ptr(res))
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t,
                       ctypes.c_size_t, ctypes.c_int32, ctypes.c_void_p]
    elif k["call"] == "binary":
        fn = getattr(lib, "raptors_binary_" + suffix)
        rhs = arrays[k["rhs"]]
        args = (name, ptr(x), *dims(x), ptr(rhs), *dims(rhs), ptr(out))
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t, ctypes.c_size_t,
                       ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
    elif k["call"] == "binary_scalar":
        fn = getattr(lib, "raptors_binary_scalar_" + suffix)
        args = (name, ptr(x), *dims(x), float(k["scalar"]), ptr(out))
        fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_size_t,
                       ctypes.c_size_t, ctypes.c_double, ctypes.c_void_p]
    else:
        raise ValueError(f"no C entry point for kernel call {k['call']!r}")
    fn.restype = ctypes.c_int32
    # The C call gets bare addresses: every array behind them must live as long as the call does
    # (a freed result buffer that is written to corrupts the heap once it is reused: seen as a
    # segmentation fault a few ops later).
    alive = (x, out, arrays.get(k.get("rhs")), res)

    def call():
        assert alive is not None
        if fn(*args) != 0:
            raise RuntimeError(f"{fn.__name__}({k}) returned an error")

    return call


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", required=True)
    p.add_argument("--ops", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--raptors-lib", required=True)
    p.add_argument("--probe", action="store_true")
    args = p.parse_args()
    ops, dtypes = bench_ops.load_table()
    names = bench_ops.driver_op_names(args, ops, dtypes)
    libc = ctypes.CDLL(None)
    marker = libc.getppid
    lib = ctypes.CDLL(os.path.realpath(args.raptors_lib))
    dt = dtypes[args.dtype]["np"]
    rng = np.random.default_rng(0)

    plan = []
    arrays_by_shape = {}
    for name in names:
        op = ops[name]
        shape = bench_ops.op_shape(op, args.size)
        if shape not in arrays_by_shape:
            wanted = [o for o in (ops[k] for k in names) if bench_ops.op_shape(o, args.size) == shape]
            arrays_by_shape[shape] = dict(bench_ops.numpy_inputs(dt, shape, rng, wanted), mod=np)
        env = arrays_by_shape[shape]
        try:
            r_call = raptors_call(lib, args.dtype, op, env, np.empty(shape, dtype=dt))
        except (ValueError, KeyError, AttributeError) as exc:
            say({"op": name, "side": "raptors", "error": f"{type(exc).__name__}: {exc}"})
            r_call = None
        plan.append((name, bench_ops.make_batch(op["numpy"]), env, r_call))

    say({"marker": ctypes.cast(marker, ctypes.c_void_p).value})
    mine, others = executable_mappings([numpy_core_file(), args.raptors_lib])
    say({"maps": mine})
    say({"others": others})
    if args.probe:
        return
    ok = {}
    for name, np_batch, env, r_call in plan:  # warm-up, inside the set-up part
        ok[name] = [True, r_call is not None]
        try:
            np_batch(1, **env)
        except Exception as exc:  # noqa: BLE001 - reported per op, the other parts still run
            say({"op": name, "side": "numpy", "error": f"{type(exc).__name__}: {exc}"})
            ok[name][0] = False
        if r_call is not None:
            try:
                r_call()
            except Exception as exc:  # noqa: BLE001
                say({"op": name, "side": "raptors", "error": f"{type(exc).__name__}: {exc}"})
                ok[name][1] = False
    for name, np_batch, env, r_call in plan:
        marker()
        if ok[name][0]:
            np_batch(args.reps, **env)
        marker()
        if ok[name][1]:
            for _ in range(args.reps):
                r_call()
    marker()


if __name__ == "__main__":
    main()
