r"""CUDA kernels of adgraph's fused operations, for CuPy arrays.

:mod:`adgraph.ops.fused` defines each fused operation -- an activation, its backward
partner, the softmax cross-entropy and its cotangent, one optimiser step -- by a reference
implementation in the array module of its inputs, and names the operations a backend may
run as one kernel instead (``fused.KERNELS``, extension point ``fused.kernel``). This module
is CuPy's implementation of that point (:func:`run`, registered by
:mod:`adgraph.backends.cupy_ops`): for CuPy arrays of float32 or float64 it runs

* a ``cupy.ElementwiseKernel`` for the activations, their partners and the optimiser
  steps, with the type placeholder ``T`` (float or double; CUDA's math functions are
  overloaded, so float stays float), sharing a small preamble of device helpers;
* a ``cupy.RawKernel`` for the cross-entropy forward and backward, one thread per row of
  the C-contiguous ``(rows, classes)`` logits, generated for each (float, label) type pair.

Other dtypes (float16, complex) get ``None``, and the reference runs. The kernel sources
are plain data (:data:`ELEMENTWISE_KERNELS`, :data:`RAW_KERNELS`, :func:`raw_kernel_source`)
so they can be inspected and compiled without a GPU; kernels are compiled on first use and
cached by CuPy (in memory and on disk). Nothing here copies between host and device, and
nothing imports CuPy: the array module arrives with each call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from string import Template
from typing import Any, NamedTuple

import numpy as _np

__all__ = [
    "KernelSpec",
    "ELEMENTWISE_KERNELS",
    "RAW_KERNELS",
    "raw_kernel_source",
    "cuda_kernels_used",
    "run",
]


class KernelSpec(NamedTuple):
    """Arguments of ``cupy.ElementwiseKernel(in_params, out_params, operation, name,
    preamble=...)``; ``T`` is the type placeholder (float or double). The input names are
    the arguments of the fused operation of the same name (``adgraph.ops.fused.KERNELS``),
    in its order."""

    in_params: str
    out_params: str
    operation: str
    preamble: str = ""


# Device helpers shared by the activation kernels; templates over the element type, so
# float stays float (CUDA's math functions are overloaded for float and double).
_PREAMBLE = r"""
template <typename F> __device__ __forceinline__ F adg_sigmoid(F x) {
    F e = exp(-fabs(x));
    F r = F(1) / (F(1) + e);
    return x >= F(0) ? r : e * r;
}
template <typename F> __device__ __forceinline__ F adg_softplus(F x) {
    return (x > F(0) ? x : F(0)) + log1p(exp(-fabs(x)));
}
template <typename F> __device__ __forceinline__ F adg_norm_cdf(F x) {
    return F(0.5) * erfc(-x * F(0.70710678118654752440));
}
template <typename F> __device__ __forceinline__ F adg_norm_pdf(F x) {
    return F(0.39894228040143267794) * exp(F(-0.5) * x * x);
}
"""

ELEMENTWISE_KERNELS: dict[str, KernelSpec] = {
    # activations
    "tanh": KernelSpec("T x", "T y", "y = tanh(x)"),
    "sigmoid": KernelSpec("T x", "T y", "y = adg_sigmoid(x)", _PREAMBLE),
    "relu": KernelSpec("T x", "T y", "y = x < T(0) ? T(0) : x"),
    "softplus": KernelSpec("T x", "T y", "y = adg_softplus(x)", _PREAMBLE),
    "gelu": KernelSpec("T x", "T y", "y = x * adg_norm_cdf(x)", _PREAMBLE),
    "gelu_tanh": KernelSpec(
        "T x",
        "T y",
        "T u = T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);\n"
        "y = T(0.5) * x * (T(1) + tanh(u))",
    ),
    # backward partners: r = g * f'(.)
    "tanh_bwd": KernelSpec("T g, T y", "T r", "r = g * (T(1) - y * y)"),
    "sigmoid_bwd": KernelSpec("T g, T y", "T r", "r = g * y * (T(1) - y)"),
    "relu_bwd": KernelSpec("T g, T y", "T r", "r = y > T(0) ? g : T(0)"),
    "softplus_bwd": KernelSpec("T g, T x", "T r", "r = g * adg_sigmoid(x)", _PREAMBLE),
    "gelu_bwd": KernelSpec(
        "T g, T x", "T r", "r = g * (adg_norm_cdf(x) + x * adg_norm_pdf(x))", _PREAMBLE
    ),
    "gelu_tanh_bwd": KernelSpec(
        "T g, T x",
        "T r",
        "T x2 = x * x;\n"
        "T t = tanh(T(0.79788456080286535588) * (x + T(0.044715) * x2 * x));\n"
        "T du = T(0.79788456080286535588) * (T(1) + T(3) * T(0.044715) * x2);\n"
        "r = g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du)",
    ),
    # optimiser steps (not differentiated)
    "sgd_update": KernelSpec(
        "T p, T g, T lr, T wd",
        "T p_new",
        "p_new = p - lr * (g + wd * p)",
    ),
    "sgd_momentum_update": KernelSpec(
        "T p, T g, T buf, T lr, T mu, T wd, int32 nesterov",
        "T p_new, T buf_new",
        "T d = g + wd * p;\n"
        "T b = mu * buf + d;\n"
        "buf_new = b;\n"
        "p_new = p - lr * (nesterov ? d + mu * b : b)",
    ),
    "adam_update": KernelSpec(
        "T p, T g, T m, T v, T lr, T b1, T b2, T eps, T c1, T c2, T wd",
        "T p_new, T m_new, T v_new",
        "T mm = b1 * m + (T(1) - b1) * g;\n"
        "T vv = b2 * v + (T(1) - b2) * g * g;\n"
        "m_new = mm;\n"
        "v_new = vv;\n"
        "p_new = p - lr * (mm * c1 / (sqrt(vv * c2) + eps) + wd * p)",
    ),
}

# Raw kernels: one thread per row of a C-contiguous (rows, classes) block of logits.
# ${T}: float or double; ${I}: int or long long (label type); ${NAN}: a quiet NaN of T.
# Out-of-range labels give NaN (a GPU kernel cannot raise; NumPy inputs are checked).
RAW_KERNELS: dict[str, Template] = {
    "softmax_xent_fwd": Template(
        r"""
extern "C" __global__ void ${NAME}(const ${T}* z, const ${I}* labels, ${T}* rows,
                                   long long n, long long c) {
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n) return;
    const ${T}* zr = z + r * c;
    ${T} m = zr[0];
    for (long long j = 1; j < c; ++j) m = zr[j] > m ? zr[j] : m;
    ${T} s = 0;
    for (long long j = 0; j < c; ++j) s += exp(zr[j] - m);
    long long lab = (long long)labels[r];
    rows[r] = (lab >= 0 && lab < c) ? log(s) + m - zr[lab] : ${NAN};
}
"""
    ),
    "softmax_xent_bwd": Template(
        r"""
extern "C" __global__ void ${NAME}(const ${T}* z, const ${I}* labels, const ${T}* ct,
                                   ${T} alpha, ${T}* out, long long n, long long c) {
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n) return;
    const ${T}* zr = z + r * c;
    ${T}* outr = out + r * c;
    ${T} scale = ct[0] * alpha;
    ${T} m = zr[0];
    for (long long j = 1; j < c; ++j) m = zr[j] > m ? zr[j] : m;
    ${T} s = 0;
    for (long long j = 0; j < c; ++j) s += exp(zr[j] - m);
    ${T} inv = ${T}(1) / s;
    long long lab = (long long)labels[r];
    bool ok = lab >= 0 && lab < c;
    for (long long j = 0; j < c; ++j) {
        ${T} p = exp(zr[j] - m) * inv - (j == lab ? ${T}(1) : ${T}(0));
        outr[j] = ok ? p * scale : ${NAN};
    }
}
"""
    ),
}

_C_FLOAT = {"float32": "float", "float64": "double"}
_C_INT = {"int32": "int", "int64": "long long"}
_C_NAN = {
    "float32": "__int_as_float(0x7fc00000)",
    "float64": "__longlong_as_double(0x7ff8000000000000LL)",
}
_BLOCK = 128
_KERNEL_DTYPES = frozenset({_np.dtype(_np.float32), _np.dtype(_np.float64)})


def raw_kernel_source(name: str, dtype: Any, label_dtype: Any) -> tuple[str, str]:
    """``(function_name, CUDA source)`` of raw kernel ``name`` for the given element and
    label dtypes (numpy dtypes or names)."""
    t = _np.dtype(dtype).name
    i = _np.dtype(label_dtype).name
    fname = f"adgraph_{name}_{t}_{i}"
    src = RAW_KERNELS[name].substitute(NAME=fname, T=_C_FLOAT[t], I=_C_INT[i], NAN=_C_NAN[t])
    return fname, src


# ------------------------------------------------------------------ kernel cache
_EW_CACHE: dict = {}
_RAW_CACHE: dict = {}
_ONE_CACHE: dict = {}
_USED: set[str] = set()


def cuda_kernels_used() -> frozenset[str]:
    """Names of the CUDA kernels run so far in this process (for tests and benchmarks)."""
    return frozenset(_USED)


def _ew_kernel(xp, name: str):
    k = _EW_CACHE.get(name)
    if k is None:
        spec = ELEMENTWISE_KERNELS[name]
        k = xp.ElementwiseKernel(
            spec.in_params,
            spec.out_params,
            spec.operation,
            f"adgraph_{name}",
            preamble=spec.preamble,
        )
        _EW_CACHE[name] = k
    _USED.add(name)
    return k


def _raw_kernel(xp, name: str, dtype, label_dtype):
    key = (name, _np.dtype(dtype).name, _np.dtype(label_dtype).name)
    k = _RAW_CACHE.get(key)
    if k is None:
        fname, src = raw_kernel_source(name, dtype, label_dtype)
        k = xp.RawKernel(src, fname)
        _RAW_CACHE[key] = k
    _USED.add(name)
    return k


def _device_one(xp, dtype):
    """A cached device scalar 1 of ``dtype`` on the current device (a kernel argument)."""
    key = (xp.cuda.runtime.getDevice(), _np.dtype(dtype).name)
    one = _ONE_CACHE.get(key)
    if one is None:
        one = _ONE_CACHE[key] = xp.ones((), dtype=dtype)
    return one


# ------------------------------------------------------------------ cross-entropy launches
def _rows(z) -> tuple[int, int]:
    s = tuple(z.shape)
    return math.prod(s[:-1]), s[-1]


def _grid(n: int) -> tuple[int]:
    return ((n + _BLOCK - 1) // _BLOCK,)


def _kernel_labels(xp, labels):
    if labels.dtype.name not in _C_INT:
        labels = labels.astype(_np.int64)
    return xp.ascontiguousarray(labels)


def _xent(xp, z, labels):
    if z.dtype not in _KERNEL_DTYPES:
        return None
    n, c = _rows(z)
    z2 = xp.ascontiguousarray(z)
    lab = _kernel_labels(xp, labels)
    rows = xp.empty((n,), dtype=z.dtype)
    if n:
        k = _raw_kernel(xp, "softmax_xent_fwd", z.dtype, lab.dtype)
        k(_grid(n), (_BLOCK,), (z2, lab, rows, _np.int64(n), _np.int64(c)))
    return xp.mean(rows)


def _xent_bwd(xp, ct, z, labels):
    dt = z.dtype
    if dt not in _KERNEL_DTYPES:
        return None
    n, c = _rows(z)
    z2 = xp.ascontiguousarray(z)
    lab = _kernel_labels(xp, labels)
    if isinstance(ct, xp.ndarray):
        # a device cotangent (a scaled loss) is read by the kernel: no host round trip
        ct_dev = ct.astype(dt) if ct.dtype != dt else ct
        alpha = 1.0 / max(n, 1)
    else:
        ct_dev = _device_one(xp, dt)
        alpha = float(ct) / max(n, 1)
    out = xp.empty(z.shape, dtype=dt)
    if n:
        k = _raw_kernel(xp, "softmax_xent_bwd", dt, lab.dtype)
        k(_grid(n), (_BLOCK,), (z2, lab, ct_dev, dt.type(alpha), out, _np.int64(n), _np.int64(c)))
    return out


# fused operation -> its launch (the rest are ElementwiseKernels of the same name)
_RAW_RUNNERS: dict[str, Callable[..., Any]] = {"softmax_xent": _xent, "softmax_xent_bwd": _xent_bwd}


def run(xp: Any, name: str, *args: Any) -> Any:
    """CuPy's implementation of the extension point ``fused.kernel``: the fused operation
    ``name`` on ``args`` as one CUDA kernel, or None where there is none (an operation
    without a kernel here, or arrays other than float32/float64).

    The CuPy arrays among the arguments of an elementwise kernel must share one dtype (the
    placeholder ``T`` binds one type); scalars are cast to it by CuPy.
    """
    raw = _RAW_RUNNERS.get(name)
    if raw is not None:
        return raw(xp, *args)
    if name not in ELEMENTWISE_KERNELS:
        return None
    dtypes = {a.dtype for a in args if isinstance(a, xp.ndarray)}
    if len(dtypes) != 1 or not dtypes <= _KERNEL_DTYPES:
        return None
    return _ew_kernel(xp, name)(*args)
