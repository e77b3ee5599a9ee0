"""Read a derivative as code: :func:`make_source`.

``make_source(ad.grad(f), *args)`` traces the derivative program (here: the forward pass
of ``f`` and its adjoint sweep), simplifies it, and writes it out as a standalone
Python/NumPy module: one line per operation, the forward sweep first, then the adjoint
sweep. With the article's naming (the default), primal values are ``v1, v2, ...`` in
topological order (inputs keep their names, with ``# v_-1`` comments) and the adjoint of
``v_i`` is ``vbar_i`` -- the bar-v notation of reverse-mode evaluation traces.

The source imports only NumPy, except for operations without a NumPy spelling here, which
call adgraph's implementation (the module then imports adgraph; a comment says so).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ad.tape import observe
from ..core.pytree import tree_flatten
from ..core.xp import as_leaf
from ..graph.ir import Graph, Node
from ..graph.tracing import _arg_names, _leaf_names
from .codegen import UFUNCS, display_name, function_name, identifier
from .simplify import simplify
from .tracing import JitTracer, trace_for_jit

__all__ = ["make_source"]

_OPS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
# Primitives holding functions (loop steps, branches): no standalone source for them.
_STRUCTURED = frozenset({"scan", "scan_revolve", "while_loop", "switch"})


class _Observer:
    """Collects, while tracing, which graph values are primals and adjoints of tape nodes."""

    def __init__(self):
        self.primal = {}  # tape node -> graph node of its value
        self.adjoints = []  # (tape node, graph node of its adjoint), in sweep order
        self.boundary = None  # first graph-node id of the adjoint sweep

    def record(self, node, value):
        if isinstance(value, JitTracer):
            self.primal[node] = value.node

    def adjoint(self, node, ct):
        if self.boundary is None:
            from ..graph import nodes

            self.boundary = next(nodes._ids)
        if isinstance(ct, JitTracer):
            self.adjoints.append((node, ct.node))


def _fmt_index(skel, arrays):
    parts = []
    for s in skel:
        if isinstance(s, slice):
            a = "" if s.start is None else repr(s.start)
            b = "" if s.stop is None else repr(s.stop)
            parts.append(f"{a}:{b}" + ("" if s.step is None else f":{s.step!r}"))
        elif s is None:
            parts.append("None")
        elif s is Ellipsis:
            parts.append("...")
        elif hasattr(s, "k"):
            parts.append(arrays[s.k])
        else:
            parts.append(repr(s))
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts)


def _number(x) -> str:
    """Source for a Python number that runs with only NumPy imported (``inf`` and
    ``nan`` are not names there: ``np.inf``, ``-np.inf``, ``np.nan``)."""
    if isinstance(x, complex):  # (NumPy's name: the generated function may be "complex")
        return f"np.complex128({_number(x.real)}, {_number(x.imag)})"
    if isinstance(x, float) and not np.isfinite(x):
        return "np.nan" if np.isnan(x) else ("np.inf" if x > 0 else "-np.inf")
    return repr(x)


def _nested(x) -> str:
    """Source for ``ndarray.tolist()`` output (nested lists of Python numbers)."""
    if isinstance(x, list):
        return "[" + ", ".join(_nested(e) for e in x) + "]"
    return _number(x)


def _literal(v):
    if isinstance(v, (bool, int, float, complex)):
        return _number(v)
    a = np.asarray(v)
    if a.dtype.kind not in "biufc":
        raise ValueError(
            f"make_source: a constant of dtype {a.dtype} cannot be written as NumPy source"
        )
    if a.ndim == 0:
        return f"np.{a.dtype.name}({_number(a.item())})"
    return f"np.array({_nested(a.tolist())}, dtype=np.{a.dtype.name})"


# primitives without parameters spelled as one NumPy call
_SIMPLE = {
    "conj": "np.conj",
    "real": "np.real",
    "imag": "np.imag",
    "angle": "np.angle",
    "linalg_det": "np.linalg.det",
    "linalg_inv": "np.linalg.inv",
    "linalg_solve": "np.linalg.solve",
    "linalg_cholesky": "np.linalg.cholesky",
    "linalg_pinv": "np.linalg.pinv",
}

# helper functions the generated module defines when it uses them
_HELPERS = {
    "_scatter_add": [
        "def _scatter_add(x, idx, u):",
        '    """x with u added at idx (repeated indices accumulate)."""',
        "    out = np.array(x, copy=True)",
        "    np.add.at(out, idx, u)",
        "    return out",
    ],
    "_fft_resize": [
        "def _fft_resize(x, axes, sizes):",
        '    """x truncated or zero-padded (at the end) to ``sizes`` along ``axes``."""',
        "    idx = [slice(None)] * x.ndim",
        "    pad = [(0, 0)] * x.ndim",
        "    for a, n in zip(axes, sizes):",
        "        idx[a] = slice(0, min(n, x.shape[a]))",
        "        pad[a] = (0, max(n - x.shape[a], 0))",
        "    return np.pad(x[tuple(idx)], pad)",
    ],
}


def _expr(node, args, uses_adgraph, helpers):
    op = node.op
    p = node.params
    if op == "item":
        return f"{args[0]}[{p['index']}]"
    if op in _OPS and len(args) == 2:
        return f"{args[0]} {_OPS[op]} {args[1]}"
    if op == "negative":
        return f"-{args[0]}"
    if op == "integer_pow":
        return f"{args[0]} ** {p['n']}"
    if op in UFUNCS and not p:
        return f"np.{UFUNCS[op]}({', '.join(args)})"
    if op == "matmul":
        return f"{args[0]} @ {args[1]}"
    if op == "reduce_sum":
        return f"np.sum({args[0]}, axis={p['axis']!r}, keepdims={p['keepdims']!r})"
    if op in ("reduce_max", "reduce_min"):
        f = "max" if op == "reduce_max" else "min"
        return f"np.{f}({args[0]}, axis={p['axis']!r}, keepdims={p['keepdims']!r})"
    if op == "reshape":
        return f"np.reshape({args[0]}, {p['shape']!r})"
    if op == "broadcast_to":
        return f"np.broadcast_to({args[0]}, {p['shape']!r})"
    if op == "transpose":
        return f"np.transpose({args[0]}, {p['axes']!r})"
    if op == "convert_element_type":
        return f"np.asarray({args[0]}).astype(np.{np.dtype(p['dtype']).name})"
    if op == "where":
        return f"np.where({args[0]}, {args[1]}, {args[2]})"
    if op == "concatenate":
        return f"np.concatenate([{', '.join(args)}], axis={p['axis']!r})"
    if op == "getitem" and "skel" in p:
        return f"{args[0]}[{_fmt_index(p['skel'], args[1:])}]"
    if op == "scatter_add" and "skel" in p:
        helpers.add("_scatter_add")
        idx = _fmt_index(p["skel"], args[1:-1])
        return f"_scatter_add({args[0]}, np.index_exp[{idx}], {args[-1]})"
    if op == "stop_gradient":
        return args[0]
    if op in _SIMPLE and not p:
        return f"{_SIMPLE[op]}({', '.join(args)})"
    if op == "einsum":
        return f"np.einsum({p['spec']!r}, {', '.join(args)})"
    if op in ("fft", "rfft", "irfft"):
        name = {"fft": "ifftn" if p.get("inverse") else "fftn", "rfft": "rfftn", "irfft": "irfftn"}[
            op
        ]
        return f"np.fft.{name}({args[0]}, s={p['sizes']!r}, axes={p['axes']!r}, norm={p['norm']!r})"
    if op == "fft_resize":
        helpers.add("_fft_resize")
        return f"_fft_resize({args[0]}, {p['axes']!r}, {p['sizes']!r})"
    if op == "fftshift":
        name = "ifftshift" if p.get("inverse") else "fftshift"
        return f"np.fft.{name}({args[0]}, axes={p['axes']!r})"
    uses_adgraph.add(op)
    kw = "".join(f", {k}={_param_literal(v)}" for k, v in p.items())
    return f"_impl({op!r})(np, {', '.join(args)}{kw})"


def _param_literal(v):
    if isinstance(v, np.dtype):
        return f"np.dtype({v.name!r})"
    if isinstance(v, (tuple, list)):
        inner = ", ".join(_param_literal(e) for e in v)
        if isinstance(v, list):
            return f"[{inner}]"
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, (int, float, complex, bool, str, type(None))):
        return _number(v) if isinstance(v, (float, complex)) else repr(v)
    if isinstance(v, np.generic):
        return _literal(v)
    return f"_params_unavailable({type(v).__name__!r})"


def _key_literal(k) -> str:
    """Source for a dict key of a pytree (a path to a leaf, a key of the result)."""
    if isinstance(k, tuple):
        return _param_literal(tuple(k)) if type(k) is tuple else _key_error(k)
    if type(k) in (str, int, bool, float, complex, type(None)):
        return _param_literal(k)
    return _key_error(k)


def _key_error(k):
    raise ValueError(
        f"make_source: a dict key of type {type(k).__name__} cannot be written as source; "
        "use str or int keys"
    )


# Names the generated module uses itself, and the names of its values: a parameter
# must not be one of them (``np`` would hide NumPy, ``t1`` would be overwritten).
_RESERVED = re.compile(r"np|(v|vbar|t)(_?m?[0-9]+)|_.*")


def _ident(s: str, taken=()) -> str:
    """An ASCII identifier for ``s`` that is no keyword, no name of the generated code and
    none of ``taken``."""
    out = identifier(s, default="x")
    while keyword.iskeyword(out) or _RESERVED.fullmatch(out) or out in taken:
        out += "_"
    return out


def _function_name(name: str) -> str:
    """A valid, non-keyword ASCII Python name for the generated function (lambdas become
    f; ``f²`` becomes ``f2``)."""
    if name == "<lambda>":
        return "f"
    out = identifier(name)
    return out + "_fn" if keyword.iskeyword(out) or out == "np" else out


def _leaf_paths(args, names):
    """For every leaf of ``args`` (in ``tree_flatten``'s order), the source that reaches
    it from the parameters ``names``: ``p``, ``p[0]``, ``p['w']``."""
    return _leaf_names(args, names, key=_key_literal)


def _string_literal(text: str) -> str:
    """``text`` as a docstring: triple-quoted when that reads back as ``text``, else its
    ``repr`` (which cannot end early, whatever ``text`` holds)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"""{text}"""'
    return repr(text)


def _structure(treedef, names):
    """Python source for the pytree ``treedef`` with leaves ``names``."""
    return _structure_of(treedef, iter(names))


def _structure_of(td, it):
    # module-level and recursive on an explicit iterator (no self-referencing closure)
    if td.kind is None:
        return next(it)
    kids = [_structure_of(c, it) for c in td.children]
    if td.kind is tuple:
        return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
    if td.kind is list:
        return "[" + ", ".join(kids) + "]"
    if td.kind is dict:
        return "{" + ", ".join(f"{_key_literal(k)}: {v}" for k, v in zip(td.aux, kids)) + "}"
    if td.kind is type(None):
        return "None"
    return f"{td.kind.__name__}(" + ", ".join(kids) + ")"


def make_source(
    fun: Callable[..., Any],
    *args: Any,
    names: Sequence[str] | None = None,
    fn_name: str | None = None,
    naming: str = "article",
    keep_forward: bool = True,
) -> str:
    """The computation ``fun(*args)`` -- typically a derivative such as ``ad.grad(f)`` --
    as standalone, readable Python/NumPy source.

    Parameters
    ----------
    fun : callable
        Any function of arrays written with adgraph (``ad.grad(f)``, ``ad.hessian(f)``,
        ``lambda x: ad.jvp(f, (x,), (v,))``...).
    *args
        Example arguments: the source is specialised to their shapes and dtypes (and to
        the branches Python control flow takes for them).
    names : sequence of str, optional
        Parameter names (default: those of the underlying function, else ``x1, x2, ...``).
    fn_name : str, optional
        Name of the generated function.
    naming : ``"article"`` or ``"plain"``
        ``"article"``: primal values ``v1, v2...``, adjoints ``vbar1, vbar2...`` (and the
        inputs' adjoints ``vbar_m1, vbar_0...`` for ``v_-1, v_0...``); ``"plain"``:
        ``t1, t2, ...`` throughout.
    keep_forward : bool
        Keep every value of the forward sweep, also those the result does not use (a
        gradient alone needs few of them); False drops them as dead code.

    Returns
    -------
    str
        Python source defining the function; ``exec`` it (or save it as a module) and call
        it with arrays of the same shapes to get the same numbers.
    """
    if not callable(fun):
        raise TypeError(f"make_source: the function must be callable, got {type(fun).__name__}")
    if naming not in ("article", "plain"):
        raise ValueError("make_source: naming must be 'article' or 'plain'")
    base = getattr(fun, "__wrapped__", fun)
    arg_names = list(names) if names is not None else _arg_names(base, len(args))
    if len(arg_names) != len(args):
        raise ValueError(f"make_source: {len(arg_names)} names for {len(args)} arguments")
    # Parameters: ASCII identifiers, distinct, none a name the generated code uses.
    safe_names: list = []
    for n in arg_names:
        safe_names.append(_ident(str(n), taken=safe_names))
    arg_names = safe_names
    leaves, in_tree = tree_flatten(tuple(args))
    leaves = [as_leaf(x, "make_source") for x in leaves]
    leaf_paths = _leaf_paths(args, arg_names)
    if len(leaf_paths) != len(leaves):
        raise ValueError(
            "make_source: the arguments hold pytree nodes it cannot address as source; "
            "pass arrays, numbers, and tuples, lists or dicts of them"
        )

    obs = _Observer()
    with observe(obs):
        graph, guards, closures = trace_for_jit(fun, leaves, in_tree, names=leaf_paths)
    out_tree = graph.out_tree
    if getattr(graph, "effects", None):
        raise ValueError(
            "make_source: the function calls adgraph.debug.print or debug.callback, which "
            "standalone NumPy source cannot hold; remove those calls to get its source (ad.jit "
            "runs them)"
        )
    if closures:
        raise ValueError(
            "make_source: the function closes over values of an enclosing transformation"
        )
    n_out = len(graph.outputs)
    if keep_forward:
        # Show the whole forward sweep, also the values the result does not need.
        extra = [g for g in dict.fromkeys(obs.primal.values()) if g not in graph.outputs]
        graph = Graph(
            graph.inputs, list(graph.outputs) + extra, in_tree=None, out_tree=None, name=graph.name
        )
    mapping: dict = {}
    sgraph, _ = simplify(graph, mapping=mapping)
    structured = sorted({n.op for n in sgraph.nodes if n.op in _STRUCTURED})
    if structured:
        raise ValueError(
            f"make_source: the program holds {', '.join(structured)} (adgraph.lax control "
            "flow), whose steps standalone NumPy source cannot write out yet; read the "
            "compiled program instead (ad.jit(f).lower(*args).source), or write the loop as "
            "a Python loop (unrolled while tracing)"
        )
    out_nodes = sgraph.outputs[:n_out]
    order = [n for n in sgraph.toposort() if not n.is_input]

    # ---------------------------------------------------------------- names
    var: dict = {}
    used = set(arg_names)
    for node, path in zip(sgraph.inputs, leaf_paths):
        if path in arg_names:
            var[node] = path
        else:
            var[node] = _ident(path, taken=used)
            used.add(var[node])
    n_in = len(sgraph.inputs)
    article_in = {node: k + 1 - n_in for k, node in enumerate(sgraph.inputs)}

    def resolved(gnode):
        r = mapping.get(gnode, gnode)
        return r if isinstance(r, Node) else None

    primal_nodes = {}
    for tape_node, gnode in obs.primal.items():
        r = resolved(gnode)
        if r is not None and r not in primal_nodes:
            primal_nodes[r] = tape_node
    adjoint_of = {}  # graph node -> primal graph node it is the adjoint of (first seen)
    aliases = []  # (graph node of an adjoint, primal graph node): extra names
    for tape_node, gnode in obs.adjoints:
        r = resolved(gnode)
        p = obs.primal.get(tape_node)
        p = resolved(p) if p is not None else None
        if r is None or p is None:
            continue
        if r in adjoint_of or r in primal_nodes or r.is_input:
            aliases.append((r, p))
        else:
            adjoint_of[r] = p

    # Sweep of each simplified node: forward if any node it stands for was recorded before
    # the adjoint sweep began.
    forward = set()
    for old, new in mapping.items():
        if isinstance(new, Node) and (obs.boundary is None or old.id < obs.boundary):
            forward.add(new)

    label = {}
    k = 0
    for node in order:
        if node in primal_nodes and node in forward:
            k += 1
            label[node] = k
    for node, lab in article_in.items():
        label[node] = lab

    def lab_name(lab, bar=False):
        s = f"m{-lab}" if lab < 0 else str(lab)
        if bar:
            return f"vbar_{s}" if lab <= 0 else f"vbar{s}"
        return f"v_{s}" if lab <= 0 else f"v{s}"

    t = 0
    for node in order:
        if naming == "article" and node in label:
            var[node] = lab_name(label[node])
        elif naming == "article" and node in adjoint_of and adjoint_of[node] in label:
            var[node] = lab_name(label[adjoint_of[node]], bar=True)
        else:
            t += 1
            var[node] = f"t{t}"

    # ---------------------------------------------------------------- lines
    uses_adgraph: set = set()
    helpers: set = set()

    def a(x):
        return var[x] if isinstance(x, Node) else _literal(x.value)

    fwd: list[str] = []
    adj: list[str] = []
    alias_after: dict = {}
    for r, p in aliases:
        if naming == "article" and p in label and r in var:
            alias_after.setdefault(r, []).append(lab_name(label[p], bar=True))
    for node in order:
        line = f"{var[node]} = {_expr(node, [a(i) for i in node.inputs], uses_adgraph, helpers)}"
        comment = ""
        if naming == "article" and node in label:
            comment = f"  # v_{label[node]} = {node.op}"
        elif naming == "article" and node in adjoint_of and adjoint_of[node] in label:
            comment = f"  # adjoint of v_{label[adjoint_of[node]]}"
        target = fwd if node in forward else adj
        target.append(line + comment)
        for extra in alias_after.get(node, ()):
            if extra != var[node]:
                target.append(f"{extra} = {var[node]}")

    given = fn_name or function_name(fun)
    name = _function_name(given)
    params = list(dict.fromkeys(arg_names))
    doc = (
        f"{name}: generated by adgraph.make_source for inputs "
        + ", ".join(
            f"{nm} {getattr(x, 'dtype', '')}{list(getattr(x, 'shape', ()))}"
            for nm, x in zip(leaf_paths, leaves)
        )
        + "."
    )
    if given not in (name, "<lambda>"):
        doc += f" (The function {display_name(given)}.)"
    head = [_string_literal(doc), "", "import numpy as np"]
    if uses_adgraph:
        head += [
            f"# {', '.join(sorted(uses_adgraph))}: no NumPy spelling here; adgraph's implementation runs",
            "from adgraph.core.primitive import registry as _registry",
            "",
            "",
            "def _impl(name):",
            "    return _registry[name].impl",
        ]
    for h in sorted(helpers):
        head += ["", ""] + _HELPERS[h]
    body = [f"def {name}({', '.join(params)}):"]
    for node, path in zip(sgraph.inputs, leaf_paths):
        if var[node] != path:
            body.append(f"    {var[node]} = {path}")
    if naming == "article":
        for node in sgraph.inputs:
            body.append(f"    # v_{label[node]} = {var[node]}")
    if fwd:
        body.append("    # forward sweep")
        body += [f"    {ln}" for ln in fwd]
    if adj:
        body.append("    # adjoint sweep")
        body += [f"    {ln}" for ln in adj]
    outs = [a(o) for o in out_nodes]
    body.append(f"    return {_structure(out_tree, outs)}")
    return "\n".join(head + ["", ""] + body) + "\n"
