"""Shared machinery for the table-driven operation tests.

Every ``tests/ops/test_*.py`` module declares ``COVERED``: the public names it tests,
qualified by namespace (``"numpy.sin"``, ``"linalg.inv"``, ``"fft.fft"``,
``"special.expit"``). ``test_completeness.py`` fails when a public function has no entry.
"""

from __future__ import annotations

import numpy as np

from adgraph.core.pytree import tree_leaves
from adgraph.test_util import check_grads

SHAPES = [(), (3,), (2, 3)]
BROADCAST_PAIRS = [((2, 3), (3,)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 1, 3), (4, 3))]
FLOAT_DTYPES = (np.float64, np.float32)


def rand(shape, dtype=np.float64, seed=0, low=-2.0, high=2.0):
    """Uniform random values in [low, high) (complex: both parts), of ``dtype``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.uniform(low, high, size=shape)
    return np.asarray(x, dtype=dtype)


def check(f, *args, order=2, modes=("fwd", "rev"), **tols):
    """check_grads on ``f(*args)`` to ``order`` in both modes."""
    check_grads(f, args, order=order, modes=modes, **tols)


def check_all_dtypes(f, *args, order=2, modes=("fwd", "rev"), dtypes=FLOAT_DTYPES, **tols):
    """Check ``f`` with the floating arguments cast to each dtype in turn; also assert the
    output keeps the input's precision (float32 in, float32 out)."""
    for dt in dtypes:
        cast = tuple(
            np.asarray(a).astype(dt) if np.asarray(a).dtype.kind in "fc" else a for a in args
        )
        out = f(*cast)
        for o in tree_leaves(out):
            o = np.asarray(o)
            if o.dtype.kind in "fc" and np.dtype(dt).kind in "fc":
                want = np.dtype(dt)
                if o.dtype.kind == "c" and want.kind == "f":
                    want = np.result_type(want, np.complex64)
                if o.dtype.kind == "f" and want.kind == "c":
                    want = np.finfo(want).dtype
                assert o.dtype.itemsize <= want.itemsize, f"{o.dtype} from {dt} input"
        check_grads(f, cast, order=order, modes=modes, **tols)
