#!/usr/bin/env bash
# FFT homogenisation on a GPU (CuPy): small solves checked against NumPy, then the 3-D
# linear-elastic solve and one J2 load step at 64^3 timed on the GPU (AD stress and tangent,
# adgraph.jit on CuPy arrays, cuFFT) and, for reference, the same AD solve on NumPy.
#
#   bash scripts/gpu_homogenization.sh               # log in adgraph-out/gpu_homogenization.log
#   OUT_DIR=/some/dir bash scripts/gpu_homogenization.sh
#   SIZE=48 CPU_SIZE=32 BUDGET=150 PYTHON=python3 bash scripts/gpu_homogenization.sh
#
# adgraph is used from this checkout (PYTHONPATH=src); nothing is installed or downloaded.
# Steps, most important first, each with its own time limit inside the BUDGET (seconds,
# default 150; a step that would start past it is skipped and says so):
#   check    small 2-D and 3-D CuPy solves (elastic, J2, Neo-Hookean, effective stiffness)
#            against NumPy: the largest relative difference is printed (fails above 1e-6)
#   bench    SIZE^3 (default 64) elastic solve and J2 load step on the GPU, both tangent
#            modes, min of 2 runs after a warm-up; the NumPy reference with the stored
#            tangent at CPU_SIZE^3 (default SIZE); a NumPy run over CPU_TIMEOUT seconds
#            (default 40) is redone at half the size and the ratio is then taken per CG
#            iteration and voxel. Table in the log, rows in gpu_homogenization.json
#   pytest   tests/test_homogenization_device.py (the stand-in device tests and the CuPy
#            tests: solves against NumPy, a derivative through the solve, and the Newton
#            tangent and CG operator run with host synchronisation forbidden)
#   profile  milliseconds per call on the GPU at SIZE^3: the law's programs, the projection
#            with its FFTs, the stored-tangent product, a CG dot product
# A failing step does not stop the others; the exit status is non-zero when any failed.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
PY=${PYTHON:-python3}
OUTDIR=${OUT_DIR:-adgraph-out}
SIZE=${SIZE:-64}
CPU_SIZE=${CPU_SIZE:-$SIZE}
CPU_TIMEOUT=${CPU_TIMEOUT:-40}
BUDGET=${BUDGET:-150}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
LOG=$OUTDIR/gpu_homogenization.log
: >"$LOG"

export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg

# shellcheck source=scripts/steps.sh
source "$ROOT/scripts/steps.sh"

log "adgraph FFT homogenisation on a GPU, $(date -u "+%Y-%m-%d %H:%M:%S UTC") on $(uname -n)"
log "checkout: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
log "python: $PY; log: $LOG; grid ${SIZE}^3 (NumPy reference ${CPU_SIZE}^3); budget ${BUDGET}s"

step "versions" 30 "$PY" - <<'EOF'
import os, platform, shutil, sys
import numpy, scipy
print("python", sys.version.split()[0], platform.platform(), f"{os.cpu_count()} CPUs")
print("numpy", numpy.__version__, "scipy", scipy.__version__)
print("C compiler for the CPU law kernels:", shutil.which("cc") or shutil.which("gcc") or "none (jit)")
try:
    import cupy as cp
    rt = cp.cuda.runtime
    props = rt.getDeviceProperties(rt.getDevice())
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    print("cupy", cp.__version__, "device:", name, f"{props['totalGlobalMem'] / 2**30:.1f} GiB",
          "runtime", rt.runtimeGetVersion(), "driver", rt.driverGetVersion())
    print("cupy first kernel:", float(cp.arange(10.0).sum()))
except Exception as e:
    print("cupy unavailable:", type(e).__name__, e)
    sys.exit(1)
import adgraph
print("adgraph from", adgraph.__file__)
EOF

step "check: small CuPy solves against NumPy" 60 \
    "$PY" benchmarks/homogenization_bench.py --backend cupy --check

step "bench: ${SIZE}^3 elastic solve and J2 step, GPU against NumPy" 110 \
    "$PY" benchmarks/homogenization_bench.py --backend cupy --size "$SIZE" --repeat 2 \
    --tangent stored action --cpu-size "$CPU_SIZE" --cpu-tangent stored \
    --cpu-timeout "$CPU_TIMEOUT" --json "$OUTDIR/gpu_homogenization.json"

step "pytest tests/test_homogenization_device.py" 60 \
    "$PY" -m pytest tests/test_homogenization_device.py -q -rs -p no:cacheprovider

step "profile: ms per call on the GPU at ${SIZE}^3" 30 \
    "$PY" benchmarks/homogenization_bench.py --backend cupy --profile --size "$SIZE"

summary
