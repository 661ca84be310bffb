"""Facts about the machine a run measures on, as the runners record them: the CPU (model, flags,
cores, caches), NumPy's build and runtime, the Raptors build that was imported, the load average
and the environment variables that change how either library runs.

`machine_info` is the runner's `{"type": "machine"}` record (raptors-bench completes it:
src/machine.rs); `last_level_cache` reads the cache size back out of it for the cache-cold regime.
"""
import contextlib
import io
import os
import platform
import sys
import time

import numpy as np

def read_cpuinfo():
    model, flags, cores = "unknown", [], set()
    phys = core = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name" and model == "unknown":
                    model = val
                elif key in ("flags", "Features") and not flags:  # x86 / AArch64 spelling
                    flags = val.split()
                elif key == "physical id":
                    phys = val
                elif key == "core id":
                    core = val
                    cores.add((phys, core))
    except OSError as e:
        model = f"unknown (/proc/cpuinfo: {e})"
    return model, flags, len(cores) or None


def read_caches():
    caches = []
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return caches
    for idx in entries:
        if not idx.startswith("index"):
            continue
        try:
            rd = lambda k: open(os.path.join(base, idx, k)).read().strip()  # noqa: E731
            size = rd("size")
            mult = {"K": 1024, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
            caches.append({
                "level": int(rd("level")), "type": rd("type"),
                "size_bytes": int(size.rstrip("KMG")) * mult,
                "ways": int(rd("ways_of_associativity")), "line_bytes": int(rd("coherency_line_size")),
            })
        except (OSError, ValueError):
            continue
    return caches


def extension_files(package):
    """Compiled modules of `package` with size, mtime and sha256: which build was measured."""
    import hashlib

    out = []
    for name, mod in sorted(sys.modules.items()):
        path = getattr(mod, "__file__", None) or ""
        if (name == package or name.startswith(package + ".")) and path.endswith((".so", ".pyd")):
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            st = os.stat(path)
            out.append({"module": name, "path": path, "size_bytes": st.st_size,
                        "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)), "sha256": digest})
    return out


def read_loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(v) for v in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


# /proc/cpuinfo flag prefixes that name SIMD extensions, per `platform.machine()`.
SIMD_FLAG_PREFIXES = {"x86_64": ("avx", "sse", "fma", "f16c"), "aarch64": ("asimd", "sve", "fp")}


def machine_info(raptors):
    model, flags, cores = read_cpuinfo()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        np.show_runtime()
    try:
        from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
        found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
        simd = {"baseline": list(__cpu_baseline__), "found": found,
                "not_found": [f for f in __cpu_dispatch__ if f not in found]}
    except ImportError as e:
        simd = {"error": f"numpy._core._multiarray_umath CPU tables unavailable: {e}"}
    return {
        "type": "machine",
        "cpu_model": model,
        "cpu_flags": flags,
        # This architecture's SIMD flags only: under qemu-user /proc/cpuinfo is the host's.
        "simd_flags": sorted(f for f in flags if f.startswith(SIMD_FLAG_PREFIXES.get(
            platform.machine(), ()))),
        "logical_cpus": os.cpu_count(),
        "physical_cores": cores,
        "caches": read_caches(),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy_version": np.__version__,
        "numpy_show_runtime": buf.getvalue(),
        "numpy_simd": simd,
        "raptors_version": getattr(raptors, "__version__", "unknown"),
        "raptors_simd_level": str(raptors.simd_level()),
        "raptors_path": getattr(raptors, "__file__", "unknown"),
        "raptors_extensions": extension_files("raptors"),
        "load_avg_start": read_loadavg(),
        "env": {k: os.environ[k] for k in sorted(os.environ)
                if k.startswith(("OPENBLAS_", "RAPTORS_", "OMP_", "MKL_"))},
    }


# Fallback when sysfs lists no cache sizes: the eviction buffer assumes this last-level cache.
FALLBACK_LLC_BYTES = 32 << 20


def last_level_cache(caches):
    """(bytes, where the figure came from) of the largest cache the runner's machine record
    lists (sysfs), or the fallback with the reason."""
    sized = [c for c in caches or [] if c.get("size_bytes")]
    if not sized:
        return FALLBACK_LLC_BYTES, (f"unknown: sysfs lists no cache sizes; assumed "
                                    f"{FALLBACK_LLC_BYTES >> 20} MiB")
    c = max(sized, key=lambda c: (c["size_bytes"], c.get("level", 0)))
    return c["size_bytes"], f"sysfs L{c.get('level', '?')} {c.get('type', '')}".strip()
