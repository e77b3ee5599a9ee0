r"""How a law's stress and tangents are evaluated on plain arrays inside the solvers.

The solvers need three things from a law, over the whole grid and with no derivative taken
through them: the stress (residuals), the stress with the stored per-voxel tangent (once per
Newton iteration), and the tangent action (once per CG iteration in ``tangent="action"``).
Each is an adgraph program built from the law -- the gradient of the energy, ``vmap`` of
``jvp`` over the unit tangents, a ``jvp`` -- and is run by one of three backends:

``"c"``
    The program is traced for *one* voxel and compiled to C by
    :func:`adgraph.jit.cbackend.compile_c` (scalarised straight-line code, looped over the
    voxels, split over threads). No temporary field is ever formed (at 64^3 the J2
    consistent tangent takes less time than its NumPy closed form). Fields are handed over
    voxel-major: one transpose each way, which is most of the cost for simple laws. Compiled
    once per law, tangent kind and parameter layout (scalar or field), cached on disk by the
    C backend, and checked once against the whole-grid program on a corner of the grid (a
    law that assumes grid axes falls back to ``"jit"``).
``"jit"``
    The program for the whole grid, compiled by :func:`adgraph.jit` (dead code and constants
    removed; every operation still a NumPy call on full fields).
``"eager"``
    The program run operation by operation (the action records the stress once with
    ``adgraph.linearize`` and pushes each tangent through the record).

``"auto"`` (the default) is ``"c"`` when a C compiler is found, else ``"jit"``. A program a
backend cannot compile falls back to the next one with one warning.

On fields that are not NumPy arrays (CuPy arrays on a GPU) the C backend, which compiles for
the CPU, is never used: ``"auto"``, ``"c"`` and ``"jit"`` run ``adgraph.jit`` of the
whole-grid program (its generated code calls the array module of the inputs, so every
operation is a CuPy kernel on the device), ``"eager"`` runs eagerly. A law's NumPy and CuPy
programs are compiled and cached separately.
"""

from __future__ import annotations

import warnings

import numpy as np

import adgraph as ad

from . import tensors as T
from ._xp import constant, module_of

__all__ = ["BACKENDS", "LawKernels", "resolve_backend", "stored_parts", "basis"]

BACKENDS = ("auto", "c", "jit", "eager")


def resolve_backend(backend: str) -> str:
    """``backend`` with ``"auto"`` made concrete."""
    if backend not in BACKENDS:
        raise ValueError(f"law backend must be one of {BACKENDS}, got {backend!r}")
    if backend != "auto":
        return backend
    from adgraph.jit.cbackend import find_c_compiler

    return "c" if find_c_compiler() is not None else "jit"


def basis(d: int, finite_strain: bool, grid: tuple, xp=np):
    """The unit tangents, ``(n_b, d, d, *grid)`` (a broadcast view; arrays of ``xp``)."""
    make = T.unit_deformations if finite_strain else T.unit_strains
    units = make(d) if xp is np else constant(xp, (make.__name__, d), lambda: make(d))
    nb = units.shape[0]
    return xp.broadcast_to(units.reshape((nb, d, d) + (1,) * len(grid)), (nb, d, d) + grid)


def stored_parts(stress_of, eps, d: int, finite_strain: bool):
    """``(sigma, stored)``: every unit tangent pushed through ``stress_of`` in one batched
    forward pass (``vmap`` of ``jvp``). Small strain: the Voigt matrix (column ``b`` the
    Voigt stress answering unit Voigt strain ``b``); finite strain: ``(d*d, d*d)`` blocks.
    Written in adgraph operations, for any backend."""
    import adgraph.numpy as anp
    from adgraph.backends import array_module

    grid = tuple(eps.shape[2:])
    b = basis(d, finite_strain, grid, array_module(eps))
    sig_b, dsig = ad.vmap(lambda t: ad.jvp(stress_of, (eps,), (t,)))(b)
    nb = b.shape[0]
    if finite_strain:
        stored = anp.swapaxes(anp.reshape(dsig, (nb, nb) + grid), 0, 1)
    else:
        stored = anp.stack(
            [
                dsig[:, i, j] if i == j else 0.5 * (dsig[:, i, j] + dsig[:, j, i])
                for i, j in T.voigt_pairs(d)
            ]
        )
    return sig_b[0], stored


# ------------------------------------------------------------------ voxel-major layout
def _to_points(x, grid):
    """A field ``(*lead, *grid)`` as ``(n, *lead)`` (contiguous)."""
    g = len(grid)
    lead = tuple(x.shape[: x.ndim - g])
    n = int(np.prod(grid))
    return np.ascontiguousarray(np.moveaxis(np.reshape(x, lead + (n,)), -1, 0))


def _from_points(y, grid):
    """``(n, *lead)`` back to ``(*lead, *grid)``."""
    lead = tuple(y.shape[1:])
    return np.ascontiguousarray(np.moveaxis(y, 0, -1)).reshape(lead + tuple(grid))


def _leaf_layout(name, v, grid):
    """``(argument, per-point example, layout key)`` of one parameter or history leaf:
    scalars are shared by every voxel, fields (``(*lead, *grid)`` or broadcastable to it)
    go voxel-major. The example is the first voxel's value (tracing evaluates the law
    there, so realistic values avoid spurious 0/0)."""
    a = np.asarray(v)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"parameter {name}: dtype {a.dtype} cannot be compiled to C")
    if a.ndim == 0:
        return a, a.copy(), ("s", a.dtype.str)
    g = len(grid)
    lead = tuple(a.shape[: max(a.ndim - g, 0)])
    try:
        full = np.broadcast_to(a, lead + tuple(grid))
    except ValueError:
        raise ValueError(
            f"parameter {name} of shape {a.shape} does not broadcast to the grid {grid}"
        ) from None
    pts = _to_points(full, grid)
    return pts, pts[0].copy(), ("f", lead, a.dtype.str)


# ------------------------------------------------------------------ the kernels of a law
class LawKernels:
    """The stress, stored-tangent and tangent-action programs of one law, compiled by its
    backend on first use (per grid shape for ``"jit"``, per parameter layout for ``"c"``)."""

    def __init__(self, law, backend: str = "auto"):
        self.law = law
        self.requested = backend
        self.backend = resolve_backend(backend)
        # on device arrays (CuPy): adgraph.jit unless eager was asked for (C is CPU-only)
        self.device_backend = "eager" if backend == "eager" else "jit"
        self._cache = {}

    def backend_for(self, eps) -> str:
        """The backend that runs on fields like ``eps`` (``"c"`` only for NumPy arrays)."""
        return self.backend if module_of(eps) is np else self.device_backend

    # ---------------------------------------------------------------- public
    def stress(self, eps, history, params):
        """The stress field (plain)."""
        return _plain_out(self._run("stress", eps, None, history, params))

    def stored(self, eps, history, params):
        """``(sigma, stored)`` (plain; stored contiguous)."""
        sigma, stored = self._run("stored", eps, None, history, params)
        xp = module_of(stored)
        return _plain_out(sigma), xp.ascontiguousarray(stored)

    def action(self, eps, history, params):
        """``(sigma, apply)`` with ``apply(de)`` the tangent action (plain)."""
        if self.backend_for(eps) == "eager":
            law = self.law
            sigma, f_jvp = ad.linearize(lambda x: law.stress(x, history, params), eps)
            return _plain_out(sigma), lambda de: _plain_out(f_jvp(de))
        sigma = self.stress(eps, history, params)
        return sigma, lambda de: _plain_out(self._run("action", eps, de, history, params))

    # ---------------------------------------------------------------- dispatch
    def _run(self, kind, eps, t, history, params):
        if module_of(eps) is not np:
            return self._run_device(kind, eps, t, history, params)
        if self.backend == "c":
            try:
                return self._run_c(kind, eps, t, history, params)
            except _CompileFailure as err:
                self._fall_back("jit", err.__cause__ or err)
        if self.backend == "jit":
            out = self._run_jit(kind, eps, t, history, params)
            if out is not None:
                return out
            out = self._program(kind)(eps, t, history, params)  # the law's own error
            self._fall_back("eager", self._jit_error)
            return out
        return self._program(kind)(eps, t, history, params)

    def _run_device(self, kind, eps, t, history, params):
        """Fields of another array module (CuPy): ``adgraph.jit`` of the whole-grid program
        (it calls the inputs' module), else eagerly; never the C backend."""
        if self.requested == "c" and not self._cache.get("warned_c"):
            self._cache["warned_c"] = True
            warnings.warn(
                f"law {self.law.name!r}: the C backend compiles for the CPU; on "
                f"{module_of(eps).__name__} arrays it runs through adgraph.jit instead",
                RuntimeWarning,
                stacklevel=5,
            )
        if self.device_backend == "jit":
            out = self._run_jit(kind, eps, t, history, params)
            if out is not None:
                return out
            out = self._program(kind)(eps, t, history, params)  # the law's own error
            self._warn_fall_back("jit", "eager", self._jit_error)
            self.device_backend = "eager"
            return out
        return self._program(kind)(eps, t, history, params)

    def _run_jit(self, kind, eps, t, history, params):
        """The jit-compiled program's result, or None when it cannot be compiled (the
        error kept in ``_jit_error``)."""
        fn = self._cache.get(("jit", kind))
        if fn is None:
            fn = self._cache[("jit", kind)] = ad.jit(self._program(kind))
        try:
            return fn(eps, t, history, params)
        except Exception as err:  # noqa: BLE001 - the eager run decides
            self._jit_error = err
            return None

    def _fall_back(self, to, err):
        self._warn_fall_back(self.backend, to, err)
        self.backend = to

    def _warn_fall_back(self, frm, to, err):
        warnings.warn(
            f"law {self.law.name!r}: the {frm!r} backend could not compile it "
            f"({type(err).__name__}: {err}); using {to!r} (slower). Choose the backend with "
            "the law's backend= argument.",
            RuntimeWarning,
            stacklevel=6,
        )

    def _program(self, kind):
        """The whole-grid adgraph program ``f(eps, t, history, params)``."""
        law = self.law
        fin = law.finite_strain
        if kind == "stress":
            return lambda e, t, h, q: law.stress(e, h, q)
        if kind == "stored":
            return lambda e, t, h, q: stored_parts(
                lambda x: law.stress(x, h, q), e, e.shape[0], fin
            )
        return lambda e, t, h, q: ad.jvp(lambda x: law.stress(x, h, q), (e,), (t,))[1]

    # ---------------------------------------------------------------- C backend
    def _run_c(self, kind, eps, t, history, params):
        d = eps.shape[0]
        grid = tuple(eps.shape[2:])
        leaves, treedef = ad.tree_flatten((history, params))
        names = [f"#{i}" for i in range(len(leaves))]
        lay = [_leaf_layout(nm, v, grid) for nm, v in zip(names, leaves)]
        key = ("c", kind, d, treedef, tuple(x[2] for x in lay))
        args = [_to_points(eps, grid)]
        if kind == "action":
            args.append(_to_points(t, grid))
        fn = self._cache.get(key)
        if fn is None:
            examples = [a[0].copy() for a in args] + [x[1] for x in lay]
            fn = self._compile_c(kind, d, treedef, examples)
            self._validate(kind, fn, eps, t, history, params)
            self._cache[key] = fn
        args += [x[0] for x in lay]
        out = fn(*args)
        if kind == "stored":
            return _from_points(out[0], grid), _from_points(out[1], grid)
        return _from_points(out, grid)

    def _compile_c(self, kind, d, treedef, examples):
        """``compile_c`` of the one-voxel program; ``examples``: one voxel's arguments."""
        from adgraph.jit.cbackend import compile_c

        law = self.law
        fin = law.finite_strain

        def unpack(leaves):
            return ad.tree_unflatten(treedef, list(leaves))

        if kind == "stress":

            def point(e, *leaves):
                h, q = unpack(leaves)
                return law.stress(e, h, q)

        elif kind == "stored":

            def point(e, *leaves):
                h, q = unpack(leaves)
                return stored_parts(lambda x: law.stress(x, h, q), e, d, fin)

        else:

            def point(e, t, *leaves):
                h, q = unpack(leaves)
                return ad.jvp(lambda x: law.stress(x, h, q), (e,), (t,))[1]

        point.__name__ = f"{_ident(law.name)}_{kind}"
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("error", category=_c_warning())
                return compile_c(point, *examples)
        except Exception as err:  # noqa: BLE001 - reported by the fallback
            raise _CompileFailure(str(err)) from err

    def _validate(self, kind, fn, eps, t, history, params):
        """The one-voxel C program against the whole-grid program on a corner of the grid
        (2 voxels per axis, the same number of axes): a law that assumes grid axes (e.g.
        ``reshape(d, d, 1, 1)``) gives different numbers for one voxel, and must not run
        as C."""
        corner = (Ellipsis,) + (slice(0, 2),) * (eps.ndim - 2)
        sub = [eps[corner], None if t is None else t[corner]]
        sub_tree = _tree_corner((history, params), eps.shape[2:], corner)
        with np.errstate(all="ignore"):
            ref = self._program(kind)(sub[0], sub[1], *sub_tree)
            grid = tuple(sub[0].shape[2:])
            args = [_to_points(sub[0], grid)]
            if kind == "action":
                args.append(_to_points(sub[1], grid))
            leaves, _ = ad.tree_flatten(tuple(sub_tree))
            args += [_leaf_layout("", v, grid)[0] for v in leaves]
            got = fn(*args)
        refs = ref if kind == "stored" else (ref,)
        gots = got if kind == "stored" else (got,)
        for r, g in zip(refs, gots):
            r = np.asarray(r)
            g = _from_points(np.asarray(g), grid) if np.ndim(g) else np.asarray(g)
            scale = float(np.abs(r).max()) if r.size else 0.0
            if g.shape != r.shape or not np.allclose(g, r, rtol=1e-10, atol=1e-12 * scale):
                raise _CompileFailure(
                    f"its one-voxel program gives other numbers (shapes {g.shape}, {r.shape}) "
                    "than the whole-grid program: the law seems to assume grid axes (count "
                    "them as eps.ndim - 2)"
                )


def _plain_out(x):
    """A program's result as a plain array (NumPy values as ``np.asarray`` gives them)."""
    return np.asarray(x) if module_of(x) is np else x


def _tree_corner(tree, grid, corner):
    """Slice the grid corner out of every field leaf of ``tree`` (scalars stay)."""
    leaves, treedef = ad.tree_flatten(tree)
    g = len(grid)
    out = []
    for v in leaves:
        a = np.asarray(v)
        out.append(a[corner] if a.ndim >= g and g else a)
    return ad.tree_unflatten(treedef, out)


class _CompileFailure(RuntimeError):
    pass


def _c_warning():
    from adgraph.jit.cbackend import CCompilerWarning

    return CCompilerWarning


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "law"
