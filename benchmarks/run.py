"""Run the engine benchmark: adgraph beside HIPS autograd, JAX (jit, eager) and PyTorch.

Usage::

    python benchmarks/run.py                 # every workload and framework installed
    python benchmarks/run.py -w chain_2000 -w rosen_hessian
    python benchmarks/run.py --markdown      # the table as Markdown (as in the README)
    python benchmarks/run.py --retain-memory # glibc keeps up to 256 MiB freed (every framework)
    python benchmarks/run.py --glibc-defaults # glibc's own allocator thresholds throughout
    python benchmarks/run.py --threads 1     # every library pinned to one thread

Every library runs with its own default threading unless ``--threads N`` is given, which
pins BLAS, NumExpr, PyTorch, JAX (XLA), scipy.fft in the primal, adgraph's FFT and
adgraph's own threaded kernels to N threads; the header and the Markdown table say which
was used, and the core count.

The allocator is one per process: adgraph's FFT makes its bounded allocator setting
(``adgraph.backends.memory``) on its first large transform, which would change the
conditions of every entry measured after it. So the setting is made up front, before any
entry, and every framework and the NumPy primal run under it (the header says so);
``--glibc-defaults`` turns it off for the whole run instead, ``--retain-memory`` makes the
larger opt-in one.

Each figure is the minimum over repeated runs (after a warm-up, which also compiles JAX's
jit) of one derivative evaluation (``--stat median``: the median run), and its ratio to
the NumPy primal measured in the same run. Anchors that are not installed are skipped.
Peak memory of the gradient relative to the primal is measured for logreg_grad with
tracemalloc (Python/NumPy allocations), for NumPy, adgraph and autograd.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc


def _threads_from_argv(argv):
    """``--threads N`` must act before NumPy, PyTorch and JAX start their thread pools."""
    for k, a in enumerate(argv):
        if a == "--threads" and k + 1 < len(argv):
            return argv[k + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return None


_THREADS = _threads_from_argv(sys.argv[1:])
if _THREADS is not None:
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[var] = _THREADS
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        if _THREADS == "1"
        else os.environ.get("XLA_FLAGS", "")
    )

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import workloads  # noqa: E402
from workloads import FRAMEWORKS, WORKLOADS, logreg_grad  # noqa: E402


def time_call(fn, budget=0.5, min_reps=3, max_reps=2000, stat="min"):
    """Minimum (``stat="median"``: median) wall time of ``fn()`` over repetitions filling
    about ``budget`` seconds."""
    fn()  # warm-up (and JAX compilation)
    times = []
    spent = 0.0
    while len(times) < min_reps or (spent < budget and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
    return min(times) if stat == "min" else float(np.median(times))


def fmt_time(t):
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def peak_memory(fn):
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def versions():
    out = {"python": platform.python_version(), "numpy": np.__version__}
    from importlib import metadata

    for name in ("adgraph", "autograd", "jax", "torch", "scipy", "ducc0"):
        try:
            out[name] = metadata.version(name)
        except Exception:
            pass
    return out


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _describe_threading(threads, cores):
    if threads is None:
        return (
            f"each library's default on {cores} cores (BLAS, PyTorch, JAX and scipy.fft in "
            "the primal use every core; NumPy's ufuncs one; adgraph's FFT, its products of "
            "a tall matrix and a vector and its fused activations every core from 2**17 "
            "elements)"
        )
    return (
        f"every library pinned to {threads} thread{'s' if threads > 1 else ''} "
        f"(--threads {threads}) on a machine with {cores} cores"
    )


def _allocator(args) -> str:
    """Decide the process's allocator state before any entry runs, and describe it."""
    try:
        from adgraph.backends import memory
    except Exception as e:  # adgraph not importable: nothing of it will run
        return f"glibc defaults (adgraph not importable: {type(e).__name__})"
    if args.retain_memory:
        return f"up to 256 MiB of freed memory retained (retain_memory: {memory.retain_memory()})"
    if args.glibc_defaults:
        memory.set_memory_retention(False)
        return "glibc defaults (adgraph's allocator setting turned off)"
    made = memory.retain_by_default()
    if made:
        return (
            "adgraph's bounded setting made up front (blocks up to 32 MiB from the heap, "
            "64 MiB kept free), so every entry runs under it"
        )
    return "glibc defaults (adgraph's setting not available here or turned off)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workload", action="append", choices=sorted(WORKLOADS))
    ap.add_argument("-f", "--framework", action="append", choices=FRAMEWORKS)
    ap.add_argument("--budget", type=float, default=0.5, help="seconds of timing per entry")
    ap.add_argument(
        "--stat",
        choices=("min", "median"),
        default="min",
        help="the figure of an entry: the fastest of its runs (default), or the median run "
        "(a library whose threads sometimes wake late has a fast minimum and a slower "
        "typical call; the median shows the typical call)",
    )
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument(
        "--retain-memory",
        action="store_true",
        help="call adgraph.backends.retain_memory() first: glibc keeps freed memory for "
        "reuse instead of returning it (process-wide, so every framework runs with it)",
    )
    ap.add_argument(
        "--glibc-defaults",
        action="store_true",
        help="keep glibc's own allocator thresholds for the whole run (adgraph's FFT then "
        "makes no allocator setting); default: adgraph's bounded setting, made up front",
    )
    ap.add_argument(
        "--threads",
        type=int,
        help="threads for BLAS, NumExpr, PyTorch, JAX and the FFTs (set before they load; 1 "
        "gives steady figures on a small or busy machine); default: each library's own",
    )
    args = ap.parse_args(argv)
    if args.retain_memory and args.glibc_defaults:
        ap.error("--retain-memory and --glibc-defaults contradict each other: give one")
    if args.threads is not None and args.threads < 1:
        ap.error(f"--threads must be a positive number of threads, got {args.threads}")
    names = args.workload or list(WORKLOADS)
    fws = args.framework or FRAMEWORKS
    if "numpy" not in fws:
        fws = ["numpy"] + fws

    cores = _usable_cores()
    threading = _describe_threading(args.threads, cores)
    if args.threads is not None:
        workloads.THREADS = args.threads
        try:
            import torch

            torch.set_num_threads(args.threads)
        except Exception:
            pass
    try:
        import adgraph.backends as adb

        if args.threads is not None:
            adb.set_fft_workers(args.threads)
            adb.set_threads(args.threads)  # adgraph's threaded matvec and activations
        fft_lib = adb.fft_backend()
    except Exception as e:  # adgraph not importable: its columns fail by themselves
        fft_lib = f"unknown ({type(e).__name__})"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({cores} usable by this "
        f"process), {platform.platform()}"
    )
    print(f"threads: {threading}")
    print(f"adgraph FFT library for NumPy arrays: {fft_lib}")
    print(f"allocator: {_allocator(args)}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    print(f"time = {args.stat} over repeated runs; ratio = time / NumPy primal (same run)\n")

    rows = []
    for name in names:
        make = WORKLOADS[name]
        times = {}
        for fw in fws:
            try:
                fn = make(fw)
            except Exception as e:  # an anchor failing to build its workload
                print(f"  {name}/{fw}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
                fn = None
            if fn is None:
                times[fw] = None
                continue
            try:
                times[fw] = time_call(fn, budget=args.budget, stat=args.stat)
            except Exception as e:
                print(f"  {name}/{fw}: failed ({type(e).__name__}: {e})", file=sys.stderr)
                times[fw] = None
            gc.collect()
        rows.append((name, times))
        primal = times["numpy"]
        cells = []
        for fw in fws[1:]:
            t = times[fw]
            cells.append("-" if t is None else f"{fmt_time(t)} ({t / primal:.1f}x)")
        print(
            f"{name:15s} primal {fmt_time(primal):>9s} | "
            + " | ".join(f"{fw}: {c}" for fw, c in zip(fws[1:], cells))
        )

    if args.markdown:
        print()
        print("| workload | NumPy primal | " + " | ".join(fws[1:]) + " |")
        print("|---|---|" + "---|" * (len(fws) - 1))
        for name, times in rows:
            primal = times["numpy"]
            cells = [
                "-" if times[fw] is None else f"{fmt_time(times[fw])} ({times[fw] / primal:.1f}x)"
                for fw in fws[1:]
            ]
            print(f"| {name} | {fmt_time(primal)} | " + " | ".join(cells) + " |")
        print(f"\nThreading: {threading}; adgraph's FFT: {fft_lib}.")

    if not args.no_memory and "logreg_grad" in names:
        from workloads import _logreg_data

        data = _logreg_data()
        print("\npeak memory of logreg_grad (tracemalloc), relative to the NumPy primal:")
        base = peak_memory(logreg_grad("numpy", data))
        print(f"  numpy primal: {base / 2**20:.1f} MiB")
        for fw in ("adgraph", "autograd"):
            if fw not in fws:
                continue
            fn = logreg_grad(fw, data)
            if fn is None:
                continue
            fn()
            peak = peak_memory(fn)
            print(f"  {fw}: {peak / 2**20:.1f} MiB ({peak / base:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
