r"""Sparse Jacobians and Hessians: the pattern from the traced computation, a colouring,
and one compressed sweep per call.

``jacobian_sparsity(f, x)`` and ``hessian_sparsity(f, x)`` detect patterns by running
``f`` once on a :class:`~adgraph.ad.sparsity.SparsityTracer` (for the Hessian, ``grad(f)``:
the pattern of the gradient's Jacobian). ``sparse_jacobian`` and ``sparse_hessian`` colour
the pattern once and then, on every call, push one tangent (or cotangent) per colour
through ``f`` in a single batched pass, and scatter the compressed products into a
``scipy.sparse.csr_matrix``.

Inputs and outputs of any shape are flattened in C order: for ``f: R^{a x b} -> R^{c}``,
column ``j`` of the Jacobian is ``x.ravel()[j]``, row ``i`` is ``f(x).ravel()[i]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ad import coloring
from ..ad.sparsity import Moves, SparsityTrace, elementwise_rule, output_pattern
from ..ad.sparsity import require_scipy as _require_scipy
from ..core.primitive import registry
from ..core.trace import Tracer, trace_scope
from .args import check_callable, fn_name
from .forward import _push_basis
from .reverse import grad, vjp
from .vectorize import vmap

__all__ = [
    "jacobian_sparsity",
    "hessian_sparsity",
    "sparse_jacobian",
    "sparse_hessian",
]


def _scatter_add_sparsity(pats, ans, x, *rest, skel):
    """y = x.at[idx].add(u): y depends on x entry by entry, and entry t of y on the
    entries of u (broadcast to x[idx]) that land on t."""
    sp = _require_scipy("sparsity detection")
    arrays, u = rest[:-1], rest[-1]
    px, pu = pats[0], pats[-1]
    if any(p is not None for p in pats[1:-1]):
        return NotImplemented  # a traced index array
    out = px
    if pu is not None:
        ids = np.arange(np.size(ans)).reshape(np.shape(ans))
        targets = np.asarray(registry["getitem"].impl(np, ids, *arrays, skel=skel))
        src = np.broadcast_to(np.arange(np.size(u)).reshape(np.shape(u)), targets.shape)
        s = sp.csr_matrix(
            (np.ones(targets.size, bool), (targets.ravel(), src.ravel())),
            shape=(np.size(ans), np.size(u)),
        )
        term = s @ pu
        out = term if out is None else out + term
    return out


# Primitives declared in modules being reorganised, whose rules are simple enough to state
# here until their declarations carry them: getitem moves entries of x (its other
# arguments are index arrays); an element-type cast is elementwise; scatter_add (the
# transpose of getitem) sums entries of its update into x.
_PENDING = {
    "getitem": Moves(data=(0,)),
    "convert_element_type": elementwise_rule((True,)),
    "scatter_add": _scatter_add_sparsity,
}


def _adopt_pending() -> None:
    for name, rule in _PENDING.items():
        p = registry.get(name)
        if p is not None and p.sparsity is None:
            p.sparsity = rule


def _as_input(x, name: str) -> np.ndarray:
    if isinstance(x, Tracer):
        raise TypeError(
            f"{name}: x is traced by another transformation; sparse detection and evaluation "
            "run outside grad/jvp/vmap/jit (call them on a concrete array)"
        )
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        if x.dtype.kind in "iub":
            x = x.astype(np.float64)
        else:
            raise TypeError(f"{name}: x must be a real floating array, got dtype {x.dtype}")
    if x.dtype.kind == "c":
        raise TypeError(f"{name}: complex inputs are not supported; split real and imaginary")
    return x


def _pattern(f: Callable, x: np.ndarray, name: str):
    _require_scipy(name)
    _adopt_pending()
    trace = SparsityTrace(x.size)
    with trace_scope(trace):
        result = f(trace.input(x))
    if isinstance(result, (tuple, list, dict)):
        raise TypeError(f"{name}: f must return one array, got {type(result).__name__}")
    return output_pattern(trace, result), trace.fallbacks


def jacobian_sparsity(f: Callable, x: Any):
    """The sparsity pattern of the Jacobian of ``f`` at ``x``.

    Parameters
    ----------
    f
        A function of one array, written with ``adgraph.numpy``, returning one array.
    x
        The point: control flow in ``f`` takes the path it takes at ``x``; the pattern is
        valid wherever it takes the same path.

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape ``(f(x).size, x.size)``
        ``P[i, j]`` is True when output entry ``i`` may depend on input entry ``j``
        (both flattened in C order). Never misses a nonzero of the Jacobian; primitives
        without a sparsity rule make their outputs depend on all their inputs' entries.
    """
    check_callable(f, "jacobian_sparsity")
    x = _as_input(x, "jacobian_sparsity")
    return _pattern(f, x, "jacobian_sparsity")[0]


def hessian_sparsity(f: Callable, x: Any):
    """The sparsity pattern of the Hessian of the scalar function ``f`` at ``x``: the
    pattern of the Jacobian of ``grad(f)``, detected through its reverse sweep, made
    symmetric. A boolean ``(x.size, x.size)`` CSR matrix."""
    check_callable(f, "hessian_sparsity")
    x = _as_input(x, "hessian_sparsity")
    _check_scalar(f, x, "hessian_sparsity")
    p, _ = _pattern(grad(f), x, "hessian_sparsity")
    p = (p + p.T).tocsr()
    p.sort_indices()
    return p


def _check_scalar(f, x, name):
    out = np.shape(f(x))
    if out != ():
        raise TypeError(
            f"{name}: f must return a scalar (its Hessian is (n, n)); got an output of shape "
            f"{out}. For a vector function use sparse_jacobian, or sum a weighted output"
        )


def _given_pattern(sparsity, shape, name):
    sp = _require_scipy(name)
    if not sp.issparse(sparsity):
        sparsity = np.asarray(sparsity)
    if sparsity.ndim != 2 or tuple(sparsity.shape) != shape:
        raise ValueError(
            f"{name}: the given sparsity pattern has shape {tuple(sparsity.shape)}, but f's "
            f"Jacobian at this x has shape {shape} (outputs x inputs, flattened in C order)"
        )
    p = sp.csr_matrix(sparsity, dtype=bool)
    p.eliminate_zeros()
    p.sort_indices()
    return p


def _seeds(colors: np.ndarray, c: int, shape) -> np.ndarray:
    s = np.zeros((c, colors.size))
    s[colors, np.arange(colors.size)] = 1.0
    return s.reshape((c,) + tuple(shape))


def _check_setup(f, order: str, name: str) -> None:
    """What both compressed derivatives check when they are made."""
    check_callable(f, name)
    if order not in coloring.ORDERS:
        raise ValueError(
            f"{name}: order must be one of {', '.join(coloring.ORDERS)}, not {order!r}"
        )
    _require_scipy(name)


class SparseJacobian:
    """``x -> J(x)`` as a ``scipy.sparse.csr_matrix`` (see :func:`sparse_jacobian`).

    Attributes (set on the first call, or at construction when a pattern is given):
    ``pattern`` (boolean CSR), ``mode`` ("fwd" or "rev"), ``coloring`` (the colour of each
    column, fwd, or row, rev), ``colors`` (how many: the number of tangents per call).
    """

    def __init__(self, f: Callable, mode: str, sparsity, order: str) -> None:
        if mode not in ("fwd", "rev", "auto"):
            raise ValueError(f"sparse_jacobian: mode must be 'fwd', 'rev' or 'auto', not {mode!r}")
        _check_setup(f, order, "sparse_jacobian")
        self.f, self.requested, self.order = f, mode, order
        self.given = sparsity
        self.pattern = None
        self.mode: str | None = None
        self.coloring: np.ndarray | None = None
        self.colors: int | None = None
        self._shapes: tuple | None = None
        self.__name__ = f"sparse_jacobian({fn_name(f)})"

    def _setup(self, x, out_shape) -> None:
        m, n = int(np.prod(out_shape)), x.size
        if self.given is not None:
            p = _given_pattern(self.given, (m, n), "sparse_jacobian")
        else:
            p = _pattern(self.f, x, "sparse_jacobian")[0]
        fwd = rev = None
        if self.requested in ("fwd", "auto"):
            fwd = coloring.column_coloring(p, self.order)
        if self.requested in ("rev", "auto"):
            rev = coloring.row_coloring(p, self.order)
        nf = int(fwd.max(initial=-1)) + 1 if fwd is not None else None
        nr = int(rev.max(initial=-1)) + 1 if rev is not None else None
        if nf is not None and (nr is None or nf <= nr):
            self.mode, self.coloring, self.colors = "fwd", fwd, nf
        else:
            self.mode, self.coloring, self.colors = "rev", rev, nr
        self.pattern = p
        self._shapes = (x.shape, tuple(out_shape))
        coo = p.tocoo()
        self._rows, self._cols = coo.row, coo.col  # CSR order: sorted by row, then column

    def __call__(self, x):
        sp = _require_scipy("sparse_jacobian")
        x = _as_input(x, "sparse_jacobian")
        if self._shapes is None:
            y = self.f(x)
            self._setup(x, np.shape(y))
        elif self._shapes[0] != x.shape:
            raise ValueError(
                f"sparse_jacobian: x has shape {x.shape}, but the pattern was made for "
                f"{self._shapes[0]}; make a new sparse_jacobian for another shape"
            )
        in_shape, out_shape = self._shapes
        m, n = int(np.prod(out_shape)), x.size
        c, colors, p = self.colors, self.coloring, self.pattern
        if c == 0:
            return sp.csr_matrix((m, n))
        if self.mode == "fwd":
            t, _ = _push_basis(
                self.f, [x], _one_tree(), [_seeds(colors, c, in_shape)], c, False, self.__name__
            )
            b = np.asarray(t).reshape(c, m)  # b[k, i] = (J s_k)[i]
            vals = b[colors[self._cols], self._rows]
        else:
            _, pullback = vjp(self.f, x)
            t = vmap(lambda ct: pullback(ct)[0])(_seeds(colors, c, out_shape))
            b = np.asarray(t).reshape(c, n)  # b[k, j] = (s_k^T J)[j]
            vals = b[colors[self._rows], self._cols]
        return sp.csr_matrix((vals, p.indices.copy(), p.indptr.copy()), shape=(m, n))


class SparseHessian:
    """``x -> H(x)`` as a ``scipy.sparse.csr_matrix`` (see :func:`sparse_hessian`).
    Attributes as :class:`SparseJacobian` (``mode`` is "star")."""

    def __init__(self, f: Callable, sparsity, order: str) -> None:
        _check_setup(f, order, "sparse_hessian")
        self.f, self.order, self.given = f, order, sparsity
        self.pattern = None
        self.mode = "star"
        self.coloring: np.ndarray | None = None
        self.colors: int | None = None
        self._shape: tuple | None = None
        self._grad = grad(f)
        self.__name__ = f"sparse_hessian({fn_name(f)})"

    def _setup(self, x) -> None:
        n = x.size
        if self.given is not None:
            p = _given_pattern(self.given, (n, n), "sparse_hessian")
            p = (p + p.T).tocsr()
            p.sort_indices()
        else:
            p = hessian_sparsity(self.f, x)
        self.coloring = coloring.star_coloring(p, self.order)
        self.colors = int(self.coloring.max(initial=-1)) + 1
        self._lookup = coloring.star_lookup(p, self.coloring)
        self.pattern = p
        self._shape = x.shape

    def __call__(self, x):
        sp = _require_scipy("sparse_hessian")
        x = _as_input(x, "sparse_hessian")
        if self._shape is None:
            _check_scalar(self.f, x, "sparse_hessian")
            self._setup(x)
        elif self._shape != x.shape:
            raise ValueError(
                f"sparse_hessian: x has shape {x.shape}, but the pattern was made for "
                f"{self._shape}; make a new sparse_hessian for another shape"
            )
        n, c, p = x.size, self.colors, self.pattern
        if c == 0 or p.nnz == 0:
            return sp.csr_matrix((n, n))
        t, _ = _push_basis(
            self._grad,
            [x],
            _one_tree(),
            [_seeds(self.coloring, c, x.shape)],
            c,
            False,
            self.__name__,
        )
        b = np.asarray(t).reshape(c, n)  # b[k, i] = (H s_k)[i]
        rows, cols = self._lookup
        return sp.csr_matrix((b[cols, rows], p.indices.copy(), p.indptr.copy()), shape=(n, n))


def _one_tree():
    from ..core.pytree import tree_flatten

    return tree_flatten((0,))[1]


def sparse_jacobian(
    f: Callable,
    mode: str = "auto",
    sparsity: Any = None,
    order: str = "largest_first",
) -> SparseJacobian:
    """The Jacobian of ``f`` as a sparse matrix, by compressed forward or reverse sweeps.

    Parameters
    ----------
    f
        A function of one array returning one array (shapes flattened in C order).
    mode
        ``"fwd"``: colour columns, one tangent per colour through a batched JVP;
        ``"rev"``: colour rows, one cotangent per colour through a batched VJP;
        ``"auto"``: whichever needs fewer colours (forward on a tie).
    sparsity
        The pattern, ``(f(x).size, x.size)`` (anything ``scipy.sparse.csr_matrix`` takes);
        by default detected from ``f`` on the first call (:func:`jacobian_sparsity`).
    order
        The greedy colouring's vertex order: ``"largest_first"``, ``"smallest_last"`` or
        ``"natural"``.

    Returns
    -------
    SparseJacobian
        ``jac(x)`` -> ``scipy.sparse.csr_matrix`` of shape ``(f(x).size, x.size)``.
        Detection and colouring happen on the first call; each call then costs one
        batched sweep with ``jac.colors`` tangents.
    """
    return SparseJacobian(f, mode, sparsity, order)


def sparse_hessian(
    f: Callable, sparsity: Any = None, order: str = "smallest_last"
) -> SparseHessian:
    """The Hessian of the scalar ``f`` as a sparse matrix, by a star colouring and one
    batched Hessian-vector product (forward over reverse) with one tangent per colour.
    ``sparsity``: an ``(n, n)`` pattern (made symmetric), by default detected on the first
    call (:func:`hessian_sparsity`). Returns ``hess(x)`` -> ``scipy.sparse.csr_matrix``."""
    return SparseHessian(f, sparsity, order)
