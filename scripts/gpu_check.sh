#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU and CuPy: the GPU tests, the CPU tests of the
# fused kernels (NVRTC compilation included), the GPU benchmarks and the mlp example, in
# under five minutes, everything logged.
#
#   bash scripts/gpu_check.sh                   # log in adgraph-out/gpu_check/
#   GPU_CHECK_DIR=/some/dir bash scripts/gpu_check.sh
#   PYTHON=/path/to/python3 GPU_CHECK_BUDGET=280 bash scripts/gpu_check.sh
#
# adgraph is used from this checkout (PYTHONPATH=src); nothing is installed and nothing is
# downloaded. Each step has its own time limit, the whole run a budget (GPU_CHECK_BUDGET
# seconds, default 285): a step that would start past it is skipped and says so. A failing
# step does not stop the others; the summary at the end lists every step's outcome and the
# exit status is non-zero when any step failed or timed out.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
PY=${PYTHON:-python3}
OUTDIR=${GPU_CHECK_DIR:-$ROOT/adgraph-out/gpu_check}
BUDGET=${GPU_CHECK_BUDGET:-285}
mkdir -p "$OUTDIR"
LOG=$OUTDIR/gpu_check.log
: >"$LOG"

export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false # JAX shares the GPU with CuPy and PyTorch
export MPLBACKEND=Agg
unset CUPY_TF32 # full FP32 unless a benchmark asks for TF32 itself

# shellcheck source=scripts/steps.sh
source "$ROOT/scripts/steps.sh"

log "adgraph GPU check, $(date -u "+%Y-%m-%d %H:%M:%S UTC") on $(uname -n)"
log "checkout: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
log "python: $PY; log: $LOG; budget ${BUDGET}s"

step "nvidia-smi" 20 nvidia-smi

step "versions" 60 "$PY" - <<'EOF'
import importlib, platform, sys
print("python", sys.version.split()[0], platform.platform())
for name in ("numpy", "scipy", "sklearn", "matplotlib", "cupy", "torch", "jax", "pytest"):
    try:
        m = importlib.import_module(name)
        print(f"{name:<11} {getattr(m, '__version__', '?')}")
    except Exception as e:
        print(f"{name:<11} unavailable: {type(e).__name__}: {e}")
try:
    import cupy as cp
    rt = cp.cuda.runtime
    props = rt.getDeviceProperties(rt.getDevice())
    print("cupy device:", props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
          f"cc {props['major']}.{props['minor']},", f"{props['totalGlobalMem'] / 2**30:.1f} GiB,",
          "runtime", rt.runtimeGetVersion(), "driver", rt.driverGetVersion())
    print("cupy first kernel:", float(cp.arange(10, dtype=cp.float32).sum()))
    from cupy._core import _routines_linalg as rl
    import numpy as np
    print("cupy float32 matmul compute type:", rl.compute_type_to_str(rl.get_compute_type(np.dtype(np.float32))))
except Exception as e:
    print("cupy check failed:", type(e).__name__, e)
try:
    import torch
    print("torch cuda:", torch.cuda.is_available(), torch.version.cuda,
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
except Exception as e:
    print("torch check failed:", type(e).__name__, e)
try:
    import jax
    print("jax backend:", jax.default_backend(), jax.devices())
except Exception as e:
    print("jax check failed:", type(e).__name__, e)
import adgraph, adgraph.backends as b
print("adgraph", adgraph.__version__, "from", adgraph.__file__)
print(b.report())
EOF

step "pytest tests/gpu + backend tests" 150 "$PY" -m pytest tests/gpu tests/test_backends.py -q -rs -p no:cacheprovider \
    --junitxml="$OUTDIR/gpu_tests.xml"

step "gpu_mlp_bench (fp32 + tf32)" 100 "$PY" benchmarks/gpu_mlp_bench.py --precision both \
    --json "$OUTDIR/gpu_mlp_bench.json"

step "gpu_engine_bench" 70 "$PY" benchmarks/gpu_engine_bench.py --json "$OUTDIR/gpu_engine_bench.json"

step "mlp example, digits, --device gpu" 45 "$PY" -m adgraph.examples.mlp --device gpu \
    --out "$OUTDIR/mlp_digits"

step "mlp example, synthetic, --device gpu" 30 "$PY" -m adgraph.examples.mlp --device gpu \
    --synthetic --steps 20 --out "$OUTDIR/mlp_synthetic"

step "pytest CPU tests of the fused kernels (NVRTC compile)" 60 "$PY" -m pytest -q -rs \
    -p no:cacheprovider tests/test_fused.py tests/test_nn.py tests/test_optim_first_order.py

summary
