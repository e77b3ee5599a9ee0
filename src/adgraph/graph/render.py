"""Pictures of a computation graph: Graphviz DOT, SVG/PNG through Graphviz, Mermaid.

Each node shows its evaluation-trace name and definition (``v₁ = v₋₁ v₀``) and its value
(arrays: shape and dtype, and the entries when there are few); on request its tangent
(``v̇``) for a seed direction and its adjoint (``v̄``). Edges follow the data, from argument
to result. Scalar constants appear inside the definitions, array constants as small grey
boxes.

Graphs with more than ``max_nodes`` nodes are summarised rather than drawn as a hairball:
first nodes of one operation at one level (one round of :meth:`Graph.toposort`) are merged
into one box ``op ×count``; if that is still too many, consecutive levels are merged into
bands listing their most common operations.

DOT text needs nothing; SVG, PNG and PDF need Graphviz's ``dot`` program.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .nodes import Const, Node
from .notation import fmt_value, input_symbol, shape_str
from .sweeps import is_diff
from .tables import _Names, _render, expression

if TYPE_CHECKING:  # types only: the views never import the graph at run time
    from .ir import Graph

__all__ = [
    "to_dot",
    "to_mermaid",
    "to_svg",
    "to_png",
    "save",
    "graphviz_available",
    "GraphvizNotFoundError",
    "MAX_NODES",
]

MAX_NODES = 150

INSTALL_HINT = (
    "Graphviz's 'dot' program is needed to draw SVG, PNG or PDF pictures and was not found "
    "on PATH. Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
    "graphviz; conda: conda install graphviz; Windows and others: https://graphviz.org/download/)"
    " -- or write the picture as .dot or .mmd (Mermaid) text instead, which needs nothing."
)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed."""


def graphviz_available() -> bool:
    """True when Graphviz's ``dot`` program is on PATH."""
    return shutil.which("dot") is not None


# ---------------------------------------------------------------------- the picture
class _Box:
    __slots__ = ("id", "lines", "kind")

    def __init__(self, id_, lines, kind):
        self.id = id_
        self.lines = lines
        self.kind = kind  # input, op, const, output, group


def _picture(graph, *, values=True, tangents=None, adjoints=None, max_nodes=MAX_NODES, digits=3):
    """(boxes, edges): the boxes and (src id, dst id, label) edges to draw."""
    nodes = graph.toposort()
    if len(nodes) > max_nodes:
        return _summary(graph, nodes, max_nodes)
    names = _Names(graph, digits)
    tan = (
        graph.tangents(None if tangents is True else tangents)
        if tangents is not None and (tangents is not False)
        else None
    )
    adj = (
        graph.adjoints(None if adjoints is True else adjoints)
        if adjoints is not None and (adjoints is not False)
        else None
    )
    boxes, edges = [], []
    ids = {}
    for node in nodes:
        bid = f"n{len(ids)}"
        ids[node] = bid
        sym = names.sym(node)
        if node.is_input:
            rhs = [input_symbol(node.name)]
        else:
            rhs = expression(node, names)
        head = f"{_render([sym], 'text', True)} = {_render(rhs, 'text', True)}"
        lines = [head]
        scalar = node.shape == ()
        if node.dtype is not None and not node.multiple_results and not (scalar and values):
            lines.append(shape_str(node.shape, node.dtype))
        if values and node.value is not None and (scalar or np.size(node.value) <= 4):
            v = fmt_value(node.value, digits)
            lines.append(
                v.split(" ", 1)[1] if v.startswith(("f", "c", "i", "u", "b")) and (" [" in v) else v
            )
        # An integer or boolean node carries no derivative: its tangent and adjoint are
        # shown as "—", not as 0.
        diff = node.multiple_results or is_diff(node.value)
        if tan is not None:
            t = tan.get(node)
            t_text = "—" if not diff else fmt_value(t, digits) if t is not None else "0"
            lines.append(f"{_render([names.sym(node, 'dot')], 'text', True)} = {t_text}")
        if adj is not None:
            a = adj.get(node)
            a_text = "—" if not diff else fmt_value(a, digits) if a is not None else "0"
            lines.append(f"{_render([names.sym(node, 'bar')], 'text', True)} = {a_text}")
        boxes.append(_Box(bid, lines, "input" if node.is_input else "op"))
    nconst = 0
    for node in nodes:
        for _k, i in enumerate(node.inputs):
            if isinstance(i, Node):
                edges.append((ids[i], ids[node], ""))
            elif isinstance(i, Const) and i.shape not in ((), None):
                cid = f"c{nconst}"
                nconst += 1
                boxes.append(_Box(cid, ["const " + shape_str(i.shape, i.dtype)], "const"))
                edges.append((cid, ids[node], ""))
    _add_outputs(graph, boxes, edges, ids, digits)
    return boxes, edges


def _add_outputs(graph, boxes, edges, ids, digits):
    n = len(graph.outputs)
    for k, o in enumerate(graph.outputs):
        name = (
            "y" if n == 1 else f"y{str(k + 1).translate(str.maketrans('0123456789', '₀₁₂₃₄₅₆₇₈₉'))}"
        )
        oid = f"out{k}"
        if isinstance(o, Node):
            boxes.append(_Box(oid, [name], "output"))
            edges.append((ids[o], oid, ""))
        else:
            boxes.append(_Box(oid, [f"{name} = {fmt_value(o.value, digits)}"], "output"))


def _summary(graph, nodes, max_nodes):
    """Boxes for groups of nodes: (level, op) groups, or bands of levels."""
    levels = graph.levels()
    inputs = [n for n in nodes if n.is_input]
    ops = [n for n in nodes if not n.is_input]
    group_of = {}
    boxes = []
    # inputs: one box each when few, else one box for all
    if len(inputs) <= max(4, max_nodes // 4):
        names = _Names(graph, 3)
        for node in inputs:
            bid = f"i{len(boxes)}"
            group_of[node] = bid
            shape = shape_str(node.shape, node.dtype) if node.dtype is not None else ""
            boxes.append(
                _Box(
                    bid,
                    [f"{_render([names.sym(node)], 'text', True)} = {node.name}", shape],
                    "input",
                )
            )
    else:
        boxes.append(_Box("inputs", [f"inputs ×{len(inputs)}"], "input"))
        for node in inputs:
            group_of[node] = "inputs"
    pairs = Counter((levels[n], n.op) for n in ops)
    # a summary should be far smaller than the limit, not just under it
    budget = max(2, (max_nodes - len(boxes) - len(graph.outputs)) // 3)
    if len(pairs) <= budget:
        members = defaultdict(list)
        for n in ops:
            members[(levels[n], n.op)].append(n)
        for (lv, op), ns in sorted(members.items(), key=lambda kv: (kv[0][0], kv[1][0].id)):
            bid = f"g{len(boxes)}"
            lines = [f"{op} ×{len(ns)}" if len(ns) > 1 else op, f"level {lv}"]
            shapes = Counter(
                shape_str(n.shape, n.dtype)
                for n in ns
                if n.dtype is not None and not n.multiple_results
            )
            if shapes:
                lines.append(", ".join(s for s, _ in shapes.most_common(2)))
            boxes.append(_Box(bid, lines, "group"))
            for n in ns:
                group_of[n] = bid
    else:
        max_level = max(levels[n] for n in ops)
        nbands = max(1, min(max_level, (budget * 3) // 5))
        band_members = defaultdict(list)
        for n in ops:
            band_members[(levels[n] - 1) * nbands // max_level].append(n)
        for b in sorted(band_members):
            ns = band_members[b]
            lvs = [levels[n] for n in ns]
            lo, hi = min(lvs), max(lvs)
            counts = Counter(n.op for n in ns).most_common(4)
            ops_txt = ", ".join(f"{op} {c}" for op, c in counts)
            bid = f"b{b}"
            span = f"level {lo}" if lo == hi else f"levels {lo}-{hi}"
            boxes.append(_Box(bid, [span, f"{len(ns)} operations", ops_txt], "group"))
            for n in ns:
                group_of[n] = bid
    counts = Counter()
    for n in ops:
        for i in n.inputs:
            if isinstance(i, Node) and group_of[i] != group_of[n]:
                counts[(group_of[i], group_of[n])] += 1
    edges = [(a, b, f"×{c}" if c > 1 else "") for (a, b), c in counts.items()]
    _add_outputs(graph, boxes, edges, group_of, 3)
    boxes.insert(
        0,
        _Box(
            "summary",
            [
                f"{graph.name}: {len(nodes)} nodes summarised (more than {max_nodes}); "
                "pass max_nodes to draw them all"
            ],
            "note",
        ),
    )
    return boxes, edges


# ---------------------------------------------------------------------- DOT
_DOT_STYLE = {
    "input": 'shape=ellipse, style=filled, fillcolor="#dbeafe"',
    "op": 'shape=box, style="rounded,filled", fillcolor="#f8fafc"',
    "group": 'shape=box3d, style=filled, fillcolor="#fef3c7"',
    "const": 'shape=note, style=filled, fillcolor="#e5e7eb", fontsize=9',
    "output": 'shape=plaintext, fontname="Helvetica-Bold"',
    "note": 'shape=plaintext, fontsize=10, fontcolor="#6b7280"',
}


def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(
    graph: Graph,
    *,
    values: bool = True,
    tangents: Any = None,
    adjoints: Any = None,
    max_nodes: int = MAX_NODES,
    rankdir: str = "LR",
    digits: int = 3,
) -> str:
    """Graphviz DOT text for ``graph``.

    Parameters
    ----------
    values : bool
        Show each node's value (else its shape and dtype).
    tangents : None, True, or a seed
        Also show each node's tangent (True: the default seed, see :meth:`Graph.tangents`).
    adjoints : None, True, or output cotangents
        Also show each node's adjoint (True: ones, see :meth:`Graph.adjoints`).
    max_nodes : int
        Larger graphs are summarised (see the module documentation).
    rankdir : str
        Graphviz layout direction: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).
    """
    boxes, edges = _picture(
        graph,
        values=values,
        tangents=tangents,
        adjoints=adjoints,
        max_nodes=max_nodes,
        digits=digits,
    )
    out = [
        f"digraph {_dot_quote(graph.name)} {{",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#475569", arrowsize=0.7];',
    ]
    for b in boxes:
        label = "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in b.lines if s)
        out.append(f'  {b.id} [label="{label}", {_DOT_STYLE[b.kind]}];')
    for a, b, lab in edges:
        attr = f" [label={_dot_quote(lab)}, fontsize=9]" if lab else ""
        out.append(f"  {a} -> {b}{attr};")
    out.append("}")
    return "\n".join(out) + "\n"


def _run_dot(dot_text: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFoundError(INSTALL_HINT)
    proc = subprocess.run(
        [exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"Graphviz 'dot -T{fmt}' failed: {proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    return proc.stdout


def to_svg(graph: Graph, **options: Any) -> str:
    """SVG text of the picture (needs Graphviz's ``dot``); options as :func:`to_dot`."""
    return _run_dot(to_dot(graph, **options), "svg").decode("utf-8")


def to_png(graph: Graph, **options: Any) -> bytes:
    """PNG bytes of the picture (needs Graphviz's ``dot``); options as :func:`to_dot`."""
    return _run_dot(to_dot(graph, **options), "png")


# ---------------------------------------------------------------------- Mermaid
_MERMAID_SHAPE = {
    "input": ('(["', '"])'),
    "op": ('["', '"]'),
    "group": ('[["', '"]]'),
    "const": ('>"', '"]'),
    "output": ('(("', '"))'),
    "note": ('>"', '"]'),
}


def _mermaid_text(s: str) -> str:
    return s.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(
    graph: Graph,
    *,
    values: bool = True,
    tangents: Any = None,
    adjoints: Any = None,
    max_nodes: int = MAX_NODES,
    direction: str = "LR",
    digits: int = 3,
) -> str:
    """A Mermaid ``flowchart`` (renders in GitHub Markdown and many editors); options as
    :func:`to_dot`."""
    boxes, edges = _picture(
        graph,
        values=values,
        tangents=tangents,
        adjoints=adjoints,
        max_nodes=max_nodes,
        digits=digits,
    )
    out = [f"flowchart {direction}"]
    for b in boxes:
        a, z = _MERMAID_SHAPE[b.kind]
        label = "<br/>".join(_mermaid_text(s) for s in b.lines if s)
        out.append(f"  {b.id}{a}{label}{z}")
    for a, b, lab in edges:
        out.append(f"  {a} -->|{_mermaid_text(lab)}| {b}" if lab else f"  {a} --> {b}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- files
_FORMATS = {
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
}


def save(graph: Graph, path: str | os.PathLike[str], **options: Any) -> str:
    """Write the picture to ``path``; the extension picks the format (.dot, .gv, .mmd,
    .svg, .png, .pdf). SVG, PNG and PDF need Graphviz. Returns the path as a string."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot tell the picture format from {p.name!r}; use one of "
            f"{', '.join(sorted(_FORMATS))}"
        )
    if not p.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(p)!r}: the folder {str(p.parent)!r} does not exist; create it "
            "first or choose another path"
        )
    if p.is_dir():
        raise IsADirectoryError(f"cannot write {str(p)!r}: it is a folder; give a file name")
    if fmt == "dot":
        p.write_text(to_dot(graph, **options), encoding="utf-8")
    elif fmt == "mermaid":
        direction = options.pop("rankdir", "LR")
        p.write_text(to_mermaid(graph, direction=direction, **options), encoding="utf-8")
    else:
        p.write_bytes(_run_dot(to_dot(graph, **options), fmt))
    return str(p)
