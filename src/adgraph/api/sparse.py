r"""Sparse Jacobians and Hessians: the pattern from the traced computation, a colouring,
and one compressed sweep per call.

``jacobian_sparsity(f, x)`` and ``hessian_sparsity(f, x)`` detect patterns by running
``f`` once on a :class:`~adgraph.ad.sparsity.SparsityTracer` (for the Hessian, collecting
the pairs each nonlinear operation couples: :mod:`adgraph.ad.sparsity_hessian`). ``sparse_jacobian`` and ``sparse_hessian`` colour
the pattern once and then, on every call, push one tangent (or cotangent) per colour
through ``f`` in a single batched pass, and scatter the compressed products into a
``scipy.sparse.csr_matrix`` (``cupyx.scipy.sparse.csr_matrix`` for CuPy inputs).

Inputs and outputs of any shape are flattened in C order: for ``f: R^{a x b} -> R^{c}``,
column ``j`` of the Jacobian is ``x.ravel()[j]``, row ``i`` is ``f(x).ravel()[i]``. A
pytree of arrays (tuple, list, dict, ...) is flattened leaf by leaf in
:func:`~adgraph.tree_flatten`'s order (dict keys sorted), each leaf in C order, and the
pieces are concatenated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..ad import coloring
from ..ad.sparsity import SparsityTrace, csr_from_arrays, output_pattern
from ..ad.sparsity import require_scipy as _require_scipy
from ..ad.sparsity_hessian import hessian_pattern
from ..ad.sparsity_index import NeedsGradient, jacobian_pattern
from ..core.pytree import register_pytree_node, tree_flatten, tree_unflatten
from ..core.trace import Tracer, trace_scope
from ..core.xp import as_leaf, module_of
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


# ------------------------------------------------------------------ patterns that draw
_PATTERN_TYPE: list = []  # the csr_matrix subclass, made on first use (SciPy is optional)


def _pattern_type():
    if not _PATTERN_TYPE:
        sp = _require_scipy("sparsity patterns")

        class SparsityPattern(sp.csr_matrix):  # type: ignore[name-defined,misc]
            """A boolean ``scipy.sparse.csr_matrix`` that draws itself: ``to_svg()``
            (no dependencies), ``savefig(path)`` (``.svg`` always; ``.png`` with
            matplotlib) and ``spy(ax=None)`` (a matplotlib spy plot). In Jupyter it shows
            as its SVG picture."""

            def to_svg(self, **kw: Any) -> str:
                from .spy import pattern_svg

                return pattern_svg(self, **kw)

            def _repr_svg_(self) -> str:
                return self.to_svg()

            def savefig(self, path: str, **kw: Any) -> str:
                from .spy import save_pattern

                return save_pattern(self, path, **kw)

            def spy(self, ax: Any = None, **kw: Any) -> Any:
                from .spy import spy_plot

                return spy_plot(self, ax=ax, **kw)

        # Reachable as adgraph.api.sparse.SparsityPattern (module __getattr__): pickles.
        SparsityPattern.__module__ = __name__
        SparsityPattern.__qualname__ = "SparsityPattern"
        _PATTERN_TYPE.append(SparsityPattern)
    return _PATTERN_TYPE[0]


def __getattr__(name: str) -> Any:
    if name == "SparsityPattern":
        return _pattern_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _as_pattern(p):
    """``p`` (boolean CSR) as a ``SparsityPattern`` sharing its arrays."""
    if type(p) is _pattern_type():
        return p
    canonical = bool(p.has_canonical_format)
    return csr_from_arrays(p.data, p.indices, p.indptr, p.shape, _pattern_type(), canonical)


# ------------------------------------------------------------------ inputs: pytrees, CuPy
class _Layout:
    """How a pytree of arrays flattens to one vector (C order, leaf after leaf)."""

    __slots__ = ("tree", "shapes", "sizes", "offsets", "size", "single")

    def __init__(self, leaves, tree) -> None:
        self.tree = tree
        self.shapes = [tuple(_shape(v)) for v in leaves]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.offsets = [0, *itertools.accumulate(self.sizes)]
        self.size = self.offsets[-1]
        self.single = len(leaves) == 1 and tree == _LEAF

    def same(self, other: _Layout) -> bool:
        return self.tree == other.tree and self.shapes == other.shapes

    def describe(self) -> str:
        return str(self.shapes[0]) if self.single else f"a pytree with leaf shapes {self.shapes}"

    def flat(self, leaves, xp):
        if self.single:
            return leaves[0]
        return xp.concatenate([xp.reshape(v, (-1,)) for v in leaves])

    def unflat(self, v):
        """The pytree of ``v`` (the flat vector, possibly traced)."""
        if self.single:
            return v
        o = self.offsets
        leaves = [v[o[k] : o[k + 1]].reshape(s) for k, s in enumerate(self.shapes)]
        return tree_unflatten(self.tree, leaves)


def _leaves(x, name: str):
    leaves, tree = tree_flatten(x)
    if not leaves:
        raise TypeError(f"{name}: x holds no arrays")
    out = []
    for v in leaves:
        if isinstance(v, Tracer):
            out.append(v)
            continue
        xp = module_of(v)
        v = xp.asarray(v)
        if v.dtype.kind in "iub":
            v = v.astype(np.float64)
        elif v.dtype.kind == "c":
            raise TypeError(f"{name}: complex inputs are not supported; split real and imaginary")
        elif v.dtype.kind != "f":
            raise TypeError(f"{name}: x must hold real floating arrays, got dtype {v.dtype}")
        out.append(v)
    return out, tree


def _jit_traced(leaves, name: str) -> bool:
    """Whether the leaves are traced by jit (allowed: the sweep is compiled); refuse
    other transformations' tracers."""
    traced = [v for v in leaves if isinstance(v, Tracer)]
    if not traced:
        return False
    for v in traced:
        if not any(c.__name__ == "JitTrace" for c in type(v._trace).__mro__):
            raise TypeError(
                f"{name}: x is traced by {type(v._trace).transformation or 'a transformation'}; "
                "sparse Jacobians and Hessians run eagerly or under jit only (their result "
                "is a sparse matrix, not an array to differentiate or batch)"
            )
    if len(traced) != len(leaves):
        raise TypeError(f"{name}: under jit every leaf of x must be traced")
    return True


def _host(v):
    """A NumPy copy of a concrete array of any module (detection runs on the host)."""
    if isinstance(v, Tracer):
        v = v.primal_value()
    get = getattr(v, "get", None)
    if module_of(v) is not np and callable(get):
        return np.asarray(get())  # CuPy
    return np.asarray(v)


class _FlatFn:
    """``v -> f(unflat(v))`` with the output flattened (C order, leaves concatenated).
    The first call records the output's structure: ``single`` (one array), ``m`` (its
    entries) and ``shape`` (the shape of what this function returns)."""

    def __init__(self, f, layout: _Layout, name: str, scalar: bool = False) -> None:
        self.f, self.layout, self.name, self.scalar = f, layout, name, scalar
        self.single: bool | None = None
        self.m = 0
        self.shape: tuple = ()

    def __call__(self, v):
        y = self.f(self.layout.unflat(v))
        if self.scalar:
            _check_scalar(y, self.name)
        leaves, tree = tree_flatten(y)
        for leaf in leaves:
            _check_output(leaf, self.name)
        if self.single is None:
            if not leaves:
                raise TypeError(f"{self.name}: f returned no arrays")
            self.single = len(leaves) == 1 and tree == _LEAF
            self.m = sum(math.prod(_shape(leaf)) for leaf in leaves)
            self.shape = tuple(_shape(leaves[0])) if self.single else (self.m,)
        if self.single:
            return leaves[0]
        from ..numpy import concatenate, reshape

        return concatenate([reshape(leaf, (-1,)) for leaf in leaves])


_LEAF = tree_flatten(0)[1]


def _check_output(leaf, name: str) -> None:
    """Refuse an output leaf that is not an array or a number (a str would otherwise read
    as an output with no dependencies)."""
    if isinstance(leaf, Tracer):
        return
    try:
        as_leaf(leaf, name)
    except TypeError:
        raise TypeError(
            f"{name}: f must return arrays, numbers or pytrees of them; got "
            f"{type(leaf).__name__} {leaf!r:.60}"
        ) from None


def _check_flag(value, what: str, name: str) -> bool:
    """A keyword that must be a bool (``local``): "yes" or 0.5 is a mistake, not True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: {what} must be a bool (True or False), got {value!r:.60}")
    return bool(value)


def _shape(v) -> tuple:
    s = getattr(v, "shape", None)
    return tuple(s) if s is not None else np.shape(v)


# ------------------------------------------------------------------ detection
def _detect(g: _FlatFn, v: np.ndarray, local: bool, hessian: bool = False):
    """The pattern of ``g`` at ``v`` (of its Hessian: one forward pass collecting the
    second-order pairs, or, for custom derivative rules, the Jacobian of ``grad(g)``)."""
    _require_scipy(g.name)
    if hessian:
        try:
            return hessian_pattern(g, v, local, matrix=_pattern_type())
        except NeedsGradient:
            return _detect_through_gradient(g, v, local)
    try:
        return jacobian_pattern(g, v, local, matrix=_pattern_type())
    except NeedsGradient:  # custom derivative rules: run them on scipy patterns
        pass
    trace = SparsityTrace(v.size, local=local)
    with trace_scope(trace):
        result = g(trace.input(v))
    return output_pattern(trace, result)


def _detect_through_gradient(g: _FlatFn, v: np.ndarray, local: bool = False):
    """The Hessian's pattern as the pattern of ``grad(g)``'s reverse sweep, made
    symmetric: right for custom derivative rules, a few gradients' cost."""
    trace = SparsityTrace(v.size, local=local)
    with trace_scope(trace):
        result = grad(g)(trace.input(v))
    return _symmetric(output_pattern(trace, result))


def _prepare(f, x, name, scalar=False):
    """(flat function, flat host vector) for detection outside other transformations."""
    leaves, tree = _leaves(x, name)
    if any(isinstance(v, Tracer) for v in leaves):
        raise TypeError(
            f"{name}: x is traced by another transformation; detect the pattern on a "
            "concrete array, outside grad/jvp/vmap/jit"
        )
    layout = _Layout(leaves, tree)
    return _FlatFn(f, layout, name, scalar), layout.flat([_host(v) for v in leaves], np)


def jacobian_sparsity(f: Callable, x: Any, *, local: bool = False) -> Any:
    """The sparsity pattern of the Jacobian of ``f`` at ``x``.

    Parameters
    ----------
    f
        A function written with ``adgraph.numpy``, of an array or a pytree of arrays,
        returning an array or a pytree of arrays.
    x
        The point: control flow in ``f`` takes the path it takes at ``x``; the pattern is
        valid wherever it takes the same path.
    local
        False (default): the global pattern -- ``where``, ``maximum``, ``minimum`` and
        ``relu`` keep both operands. True: they keep only the operand the values at ``x``
        select (both at ties), so the pattern holds near ``x`` only.

    Returns
    -------
    SparsityPattern
        A boolean ``scipy.sparse.csr_matrix`` of shape ``(outputs, inputs)``, flattened in
        C order (pytrees leaf by leaf); ``P[i, j]`` is True when output entry ``i`` may
        depend on input entry ``j``. Never misses a nonzero of the Jacobian; primitives
        without a sparsity rule make their outputs depend on all their inputs' entries.
        It draws itself: ``to_svg()``, ``savefig(path)``, ``spy()``.
    """
    check_callable(f, "jacobian_sparsity")
    local = _check_flag(local, "local", "jacobian_sparsity")
    g, v = _prepare(f, x, "jacobian_sparsity")
    return _as_pattern(_detect(g, v, local))


def hessian_sparsity(f: Callable, x: Any, *, local: bool = False) -> Any:
    """The sparsity pattern of the Hessian of the scalar function ``f`` at ``x``, in one
    forward pass: each nonlinear operation pairs the inputs its outputs depend on (a
    product only its operands' dependencies with each other), linear ones pair nothing;
    no gradient is taken (a function with custom derivative rules is detected through
    its gradient's reverse sweep). Never misses a nonzero of the Hessian where control
    flow takes the path it takes at ``x``.

    Returns a boolean ``(n, n)`` :class:`SparsityPattern` (``n``: the entries of ``x``, a
    pytree flattened as in :func:`jacobian_sparsity`); ``local`` as there."""
    check_callable(f, "hessian_sparsity")
    local = _check_flag(local, "local", "hessian_sparsity")
    g, v = _prepare(f, x, "hessian_sparsity", scalar=True)
    return _as_pattern(_detect(g, v, local, hessian=True))


def _symmetric(p):
    p = (p + p.T).tocsr()
    p.sort_indices()
    return p


def _check_scalar(y, name):
    tree = isinstance(y, (tuple, list, dict))
    out = () if tree else _shape(y)
    if tree or out != ():
        what = "a pytree" if tree else f"an output of shape {out}"
        raise TypeError(
            f"{name}: f must return a scalar (its Hessian is (n, n)); got {what}. For a "
            "vector function use sparse_jacobian, or sum a weighted output"
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


def _seeds(colors: np.ndarray, c: int) -> np.ndarray:
    s = np.zeros((c, colors.size))
    s[colors, np.arange(colors.size)] = 1.0
    return s


def _check_setup(f, order: str, name: str) -> None:
    """What both compressed derivatives check when they are made."""
    check_callable(f, name)
    if not isinstance(order, str):
        raise TypeError(
            f"{name}: order must be a string, one of {', '.join(coloring.ORDERS)}; got "
            f"{order!r:.60}"
        )
    if order not in coloring.ORDERS:
        raise ValueError(
            f"{name}: order must be one of {', '.join(coloring.ORDERS)}, not {order!r}"
        )
    _require_scipy(name)


# ------------------------------------------------------------------ results
class _CSRLayout:
    """indices, indptr and shape of a result (compared by identity in jit's caches), and
    whether they are canonical (each row's columns ascending and distinct)."""

    __slots__ = ("indices", "indptr", "shape", "canonical")

    def __init__(self, p) -> None:
        self.indices, self.indptr, self.shape = p.indices, p.indptr, p.shape
        self.canonical = bool(p.has_canonical_format)


_TRACED_CSR: list = []  # the pytree-registered csr_matrix subclass jit returns through


def _traced_csr(vals, layout: _CSRLayout):
    """A CSR result whose values are traced by jit: a registered pytree node (its values
    are the leaf), rebuilt as a plain ``csr_matrix`` when jit returns concrete values."""
    sp = _require_scipy("sparse derivatives under jit")
    if not _TRACED_CSR:

        class TracedCSR(sp.csr_matrix):  # type: ignore[name-defined,misc]
            def __init__(self, vals, layout):  # no validation: vals is a tracer
                self._shape = layout.shape
                self.data, self.indices, self.indptr = vals, layout.indices, layout.indptr
                self.maxprint = 50

        def unflatten(layout, children):
            (vals,) = children
            if isinstance(vals, Tracer) or not hasattr(vals, "dtype"):
                return TracedCSR(vals, layout)
            return _csr_result(vals, layout)

        register_pytree_node(TracedCSR, lambda m: ([m.data], m._ad_layout), unflatten)
        _TRACED_CSR.append(TracedCSR)
    m = _TRACED_CSR[0](vals, layout)
    m._ad_layout = layout
    return m


def _csr_result(vals, layout: _CSRLayout):
    """The CSR matrix of the values in the layout's order, in the values' array module."""
    xp = module_of(vals)
    if xp is not np and xp.__name__.split(".")[0] == "cupy":
        import cupyx.scipy.sparse as csp

        return csp.csr_matrix(
            (vals, xp.asarray(layout.indices), xp.asarray(layout.indptr)), shape=layout.shape
        )
    _require_scipy("sparse derivatives")
    # The layout's arrays are copied: the caller may change the matrix it gets.
    ind, ptr = layout.indices.copy(), layout.indptr.copy()
    return csr_from_arrays(np.asarray(vals), ind, ptr, layout.shape, None, layout.canonical)


class _Compressed:
    """What SparseJacobian and SparseHessian share: the first call's setup, the checks of
    later calls, the index arrays per array module, and the result's assembly."""

    name = ""

    def __init__(self, f: Callable, sparsity, order: str, local: bool) -> None:
        local = _check_flag(local, "local", self.name)
        self.f, self.order, self.given, self.local = f, order, sparsity, local
        self.pattern = None
        self.coloring: np.ndarray | None = None
        self.colors: int | None = None
        self._layout: _Layout | None = None
        self._index: dict = {}
        self._flat_take: np.ndarray | None = None  # see _decompress

    def _leaves_checked(self, x):
        leaves, tree = _leaves(x, self.name)
        jitted = _jit_traced(leaves, self.name)
        layout = _Layout(leaves, tree)
        if self._layout is not None and not self._layout.same(layout):
            raise ValueError(
                f"{self.name}: x is {layout.describe()}, but the pattern was made for "
                f"{self._layout.describe()}; make a new {self.name} for another shape"
            )
        return leaves, layout, jitted

    def _indices(self, xp, what: str, arrays):
        """The NumPy arrays ``arrays`` (called ``what``) in the array module ``xp``,
        converted once per module."""
        if xp is np:
            return arrays
        key = (xp.__name__, what)
        if key not in self._index:
            self._index[key] = tuple(xp.asarray(a) for a in arrays)
        return self._index[key]

    def _result(self, vals, jitted):
        layout = self._csr_layout
        return _traced_csr(vals, layout) if jitted else _csr_result(vals, layout)

    def _decompress(self, b, xp, jitted):
        """The nonzeros' values, in the result's order, from the compressed products
        ``b`` (colours x entries): nonzero ``t`` is ``b[k[t], i[t]]``, ``(k, i) =
        self._take``. Eagerly one gather from the flat array at ``k * entries + i``
        (five times faster than NumPy's two-array indexing)."""
        k, i = self._take
        if jitted:
            return b[k, i]
        flat = self._flat_take
        if flat is None:
            flat = self._flat_take = k.astype(np.intp) * b.shape[1] + i
        (flat,) = self._indices(xp, "take", (flat,))
        b = b.reshape(-1)
        return np.take(b, flat) if xp is np else b[flat]


class SparseJacobian(_Compressed):
    """``x -> J(x)`` as a ``scipy.sparse.csr_matrix`` (see :func:`sparse_jacobian`).

    Attributes (set on the first call, or at construction when a pattern is given):
    ``pattern`` (boolean CSR), ``mode`` ("fwd" or "rev"), ``coloring`` (the colour of each
    column, fwd, or row, rev), ``colors`` (how many: the number of tangents per call).
    """

    name = "sparse_jacobian"

    def __init__(self, f: Callable, mode: str, sparsity, order: str, local: bool) -> None:
        if not isinstance(mode, str) or mode not in ("fwd", "rev", "auto"):
            raise (ValueError if isinstance(mode, str) else TypeError)(
                f"sparse_jacobian: mode must be 'fwd', 'rev' or 'auto', not {mode!r:.60}"
            )
        _check_setup(f, order, "sparse_jacobian")
        super().__init__(f, sparsity, order, local)
        self.requested = mode
        self.mode: str | None = None
        self.__name__ = f"sparse_jacobian({fn_name(f)})"

    def _setup(self, leaves, layout) -> None:
        g = _FlatFn(self.f, layout, self.name)
        v = layout.flat([_host(u) for u in leaves], np)
        n = layout.size
        if self.given is not None:
            g(v)  # the output's structure
            p = _given_pattern(self.given, (g.m, n), self.name)
        else:
            p = _detect(g, v, self.local)
        m = g.m
        fwd = rev = None
        nf = nr = None
        if self.requested in ("fwd", "auto"):
            fwd = coloring.column_coloring(p, self.order)
            nf = int(fwd.max(initial=-1)) + 1
        # Reverse mode needs at least as many colours as a column has nonzeros: colour the
        # rows only when that bound leaves room to beat the columns' count.
        if self.requested == "rev" or (
            nf is not None and int(np.bincount(p.indices, minlength=1).max()) < nf
        ):
            rev = coloring.row_coloring(p, self.order)
            nr = int(rev.max(initial=-1)) + 1
        if fwd is not None and nf is not None and (nr is None or nf <= nr):
            self.mode, colors, c = "fwd", fwd, nf
        elif rev is not None and nr is not None:
            self.mode, colors, c = "rev", rev, nr
        else:  # pragma: no cover - mode is checked: one direction is always coloured
            raise RuntimeError("sparse_jacobian: neither columns nor rows were coloured")
        self.coloring, self.colors = colors, c
        self.pattern = _as_pattern(p)
        self._flat, self._m = g, m
        self._out_shape = g.shape  # what the flat function returns
        self._layout = layout
        coo = p.tocoo()
        rows, cols = coo.row, coo.col  # CSR order: sorted by row, then column
        # vals = b[k, i]: the compressed product of colour k, entry i
        self._take = (colors[cols], rows) if self.mode == "fwd" else (colors[rows], cols)
        self._seed = _seeds(colors, c)
        self._csr_layout = _CSRLayout(p)

    def _rseed(self, xp):
        s = self._seed if xp is np else self._indices(xp, "seed", (self._seed,))[0]
        return s.reshape((self.colors,) + self._out_shape)

    def __call__(self, x):
        leaves, layout, jitted = self._leaves_checked(x)
        if self.pattern is None:
            self._setup(leaves, layout)
        xp = module_of(leaves[0].primal_value() if jitted else leaves[0])
        m, n, c = self._m, layout.size, self.colors
        v = layout.flat(leaves, xp) if not jitted else _traced_flat(layout, leaves)
        if c == 0:
            return self._result(xp.zeros(0), jitted)
        if self.mode == "fwd":
            seed = self._seed if xp is np else self._indices(xp, "seed", (self._seed,))[0]
            seed = seed.reshape((c,) + tuple(v.shape))
            t, _ = _push_basis(self._flat, [v], _one_tree(), [seed], c, False, self.__name__)
            b = t.reshape((c, m))  # b[k, i] = (J s_k)[i]
        else:
            _, pullback = vjp(self._flat, v)
            t = vmap(lambda ct: pullback(ct)[0])(self._rseed(xp))
            b = t.reshape((c, n))  # b[k, j] = (s_k^T J)[j]
        return self._result(self._decompress(b, xp, jitted), jitted)


def _traced_flat(layout: _Layout, leaves):
    from ..numpy import concatenate, reshape

    if layout.single:
        return leaves[0]
    return concatenate([reshape(v, (-1,)) for v in leaves])


class SparseHessian(_Compressed):
    """``x -> H(x)`` as a ``scipy.sparse.csr_matrix`` (see :func:`sparse_hessian`).
    Attributes as :class:`SparseJacobian` (``mode`` is "star" or "acyclic")."""

    name = "sparse_hessian"

    def __init__(self, f: Callable, sparsity, order: str, local: bool, method: str) -> None:
        _check_setup(f, order, "sparse_hessian")
        if not isinstance(method, str) or method not in ("star", "acyclic"):
            raise (ValueError if isinstance(method, str) else TypeError)(
                f"sparse_hessian: method must be 'star' or 'acyclic', not {method!r:.60}"
            )
        super().__init__(f, sparsity, order, local)
        self.mode = method
        self.__name__ = f"sparse_hessian({fn_name(f)})"

    def _setup(self, leaves, layout) -> None:
        g = _FlatFn(self.f, layout, self.name, scalar=True)
        v = layout.flat([_host(u) for u in leaves], np)
        n = layout.size
        if self.given is not None:
            g(v)  # refuses a function that does not return a scalar
            p = _symmetric(_given_pattern(self.given, (n, n), self.name))
        else:
            p = _detect(g, v, self.local, hessian=True)
        if self.mode == "star":
            self.coloring = coloring.star_coloring(p, self.order)
            rows, cols = coloring.star_lookup(p, self.coloring)
            self._take = (cols, rows)  # H[i, j] = b[colour, row]
        else:
            self.coloring = coloring.acyclic_coloring(p, self.order)
            self._plan = coloring.AcyclicPlan(p, self.coloring)
        self.colors = int(self.coloring.max(initial=-1)) + 1
        self._seed = _seeds(self.coloring, self.colors)
        self.pattern = _as_pattern(p)
        self._grad = grad(g)
        self._layout = layout
        self._csr_layout = _CSRLayout(p)

    def __call__(self, x):
        leaves, layout, jitted = self._leaves_checked(x)
        if jitted and self.mode == "acyclic":
            raise TypeError(
                "sparse_hessian(method='acyclic') recovers the entries by a triangular "
                "solve in SciPy, which jit cannot compile; use method='star' under jit"
            )
        if self.pattern is None:
            self._setup(leaves, layout)
        xp = module_of(leaves[0].primal_value() if jitted else leaves[0])
        n, c = layout.size, self.colors
        v = layout.flat(leaves, xp) if not jitted else _traced_flat(layout, leaves)
        if c == 0 or self.pattern.nnz == 0:
            return self._result(xp.zeros(0), jitted)
        seed = self._seed if xp is np else self._indices(xp, "seed", (self._seed,))[0]
        seed = seed.reshape((c,) + tuple(v.shape))
        t, _ = _push_basis(self._grad, [v], _one_tree(), [seed], c, False, self.__name__)
        b = t.reshape((c, n))  # b[k, i] = (H s_k)[i]
        if self.mode == "acyclic":
            vals = self._plan(_host(b))  # substitution runs on the host
            return self._result(vals if xp is np else xp.asarray(vals), jitted)
        return self._result(self._decompress(b, xp, jitted), jitted)


def _one_tree():
    return tree_flatten((0,))[1]


def sparse_jacobian(
    f: Callable,
    mode: str = "auto",
    sparsity: Any = None,
    order: str = "largest_first",
    *,
    local: bool = False,
) -> SparseJacobian:
    """The Jacobian of ``f`` as a sparse matrix, by compressed forward or reverse sweeps.

    Parameters
    ----------
    f
        A function of an array (or a pytree of arrays) returning an array (or a pytree);
        inputs and outputs are flattened in C order, pytrees leaf after leaf.
    mode
        ``"fwd"``: colour columns, one tangent per colour through a batched JVP;
        ``"rev"``: colour rows, one cotangent per colour through a batched VJP;
        ``"auto"``: whichever needs fewer colours (forward on a tie; the rows are coloured
        only when their lower bound, the most nonzeros in a column, is below the columns'
        count).
    sparsity
        The pattern, ``(outputs, inputs)`` (anything ``scipy.sparse.csr_matrix`` takes);
        by default detected from ``f`` on the first call (:func:`jacobian_sparsity`).
    order
        The greedy colouring's vertex order: ``"largest_first"``, ``"smallest_last"`` or
        ``"natural"``.
    local
        Detect the local pattern at the first call's ``x`` (see
        :func:`jacobian_sparsity`): fewer colours when ``where``/``maximum`` select, valid
        only while they select the same operands.

    Returns
    -------
    SparseJacobian
        ``jac(x)`` -> ``scipy.sparse.csr_matrix`` of shape ``(outputs, inputs)``
        (``cupyx.scipy.sparse.csr_matrix`` for CuPy arrays). Detection and colouring
        happen on the first call; each call then costs one batched sweep with
        ``jac.colors`` tangents. Under ``jit`` the sweep is compiled and the compiled
        function returns the same sparse matrix.
    """
    return SparseJacobian(f, mode, sparsity, order, local)


def sparse_hessian(
    f: Callable,
    sparsity: Any = None,
    order: str = "smallest_last",
    *,
    local: bool = False,
    method: str = "star",
) -> SparseHessian:
    """The Hessian of the scalar ``f`` as a sparse matrix, by a star colouring and one
    batched Hessian-vector product (forward over reverse) with one tangent per colour.

    ``method="acyclic"`` colours acyclically instead (fewer colours: two for a tridiagonal
    Hessian) and recovers the entries by substitution, a sparse triangular solve on the
    host (not under ``jit``).

    ``sparsity``: an ``(n, n)`` pattern (made symmetric), by default detected on the first
    call (:func:`hessian_sparsity`); ``order`` and ``local`` as in :func:`sparse_jacobian`;
    ``x`` may be a pytree (flattened leaf after leaf, each in C order). Returns
    ``hess(x)`` -> ``scipy.sparse.csr_matrix`` with ``hess.colors`` colours; works under
    ``jit``. A function that does not return a scalar is refused."""
    return SparseHessian(f, sparsity, order, local, method)
