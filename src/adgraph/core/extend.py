"""Extension points: where a backend replaces part of an operation for its own arrays.

The operations in :mod:`adgraph.ops` are written once, against the array module ``xp`` of
their inputs. Where an array module cannot run that code as it is -- Dask has no gather by
several index arrays and no determinant of stacked matrices; CuPy's ``ufunc.at`` is not
NumPy's -- the operation declares an *extension point*: a name and the contract an
implementation must keep. A backend (:mod:`adgraph.backends`) registers its implementation
of that point for its array module, and the operation looks it up by the module it
computes with::

    SORT = extend.declare("indexing.sort", "(x, axis, kind) -> x sorted along axis")

    def _sort_impl(xp, x, *, axis, kind):
        if xp is not _np:                        # NumPy never pays for the lookup
            alt = extend.lookup(SORT, xp)
            if alt is not None:
                return alt(x, axis, kind)
        return xp.sort(x, axis=axis, kind=kind)

    extend.register(SORT, "dask.array", dask_sort)   # in the backend

Optional packages stay optional: a backend registers a *loader* for its module name
(:func:`register_loader`), which runs -- imports the backend's implementations, which
register themselves -- the first time an operation looks up a point for an array of that
module. Importing adgraph therefore imports neither Dask nor CuPy.

Invariants: points are declared by the operation that consults them, before any backend
registers for them (registering for an unknown point is an error naming the known ones);
a lookup costs one dictionary access once the module's loader has run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = [
    "declare",
    "register",
    "register_loader",
    "lookup",
    "points",
    "implementations",
    "ExtensionError",
]


class ExtensionError(ValueError):
    """An extension point was used wrongly: registered for before it was declared, or
    registered twice for one array module."""


_POINTS: dict[str, str] = {}  # point -> its contract (one line of prose)
_IMPLS: dict[tuple[str, str], Callable] = {}  # (point, array-module name) -> implementation
_LOADERS: dict[str, Callable[[], object]] = {}  # module name -> loader not yet run
_RUNNING: set[str] = set()  # modules whose loader is running
_LOCK = threading.RLock()  # loaders run once, even when threads meet a module together


def declare(name: str, contract: str) -> str:
    """Declare the extension point ``name`` with its ``contract`` (the call signature an
    implementation receives and what it returns); returns ``name``.

    Declaring a point again replaces its contract and keeps its implementations (a module
    that declares points may be reloaded).
    """
    if not isinstance(name, str) or not name:
        raise ExtensionError(f"extension point names are non-empty strings, got {name!r}")
    _POINTS[name] = contract
    return name


def register(
    name: str, module: str, impl: Callable | None = None, *, replace: bool = False
) -> Callable:
    """Register ``impl`` as the implementation of point ``name`` for arrays of the array
    module called ``module`` (its ``__name__``: ``"dask.array"``, ``"cupy"``).

    Usable as a decorator (``@register("indexing.sort", "dask.array")``). A second
    registration for the same point and module is refused unless ``replace=True``.
    """
    if impl is None:
        return lambda f: register(name, module, f, replace=replace)
    if name not in _POINTS:
        known = ", ".join(sorted(_POINTS)) or "none yet"
        raise ExtensionError(
            f"no extension point {name!r} is declared (known: {known}); points are "
            "declared by the operation that consults them (adgraph.core.extend.declare)"
        )
    if not callable(impl):
        raise ExtensionError(f"{name} for {module}: expected a callable, got {impl!r}")
    key = (name, module)
    with _LOCK:
        if key in _IMPLS and not replace and _IMPLS[key] is not impl:
            raise ExtensionError(
                f"{name} already has an implementation for {module} "
                f"({_IMPLS[key].__qualname__}); pass replace=True to replace it"
            )
        _IMPLS[key] = impl
    return impl


def register_loader(module: str, loader: Callable[[], object]) -> None:
    """Run ``loader()`` (which registers implementations for ``module``) the first time a
    point is looked up for an array module of that name; a loader that raises runs again
    at the next lookup."""
    with _LOCK:
        _LOADERS[module] = loader


def _load(module: str) -> None:
    # The loader stays listed until it has succeeded, so a thread that looks up a point
    # meanwhile waits here for it instead of taking the default path.
    with _LOCK:
        loader = _LOADERS.get(module)
        if loader is None or module in _RUNNING:  # done meanwhile, or a lookup from inside it
            return
        _RUNNING.add(module)
        try:
            loader()
            _LOADERS.pop(module, None)
        finally:
            _RUNNING.discard(module)


def lookup(name: str, xp) -> Callable | None:
    """The implementation of point ``name`` registered for array module ``xp``, or None
    (the operation's own code then runs). Runs the module's loader first if it has one."""
    module = getattr(xp, "__name__", "")
    impl = _IMPLS.get((name, module))
    if impl is None and module in _LOADERS:
        _load(module)
        impl = _IMPLS.get((name, module))
    return impl


def points() -> dict[str, str]:
    """Every declared extension point and its contract."""
    return dict(_POINTS)


def implementations(name: str) -> dict[str, Callable]:
    """The registered implementations of point ``name``, by array-module name (loaders that
    have not run yet are not counted)."""
    return {m: f for (p, m), f in _IMPLS.items() if p == name}
