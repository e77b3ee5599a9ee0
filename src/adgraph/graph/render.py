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

DOT text needs nothing; SVG, PNG and PDF are drawn by Graphviz's ``dot`` program, or,
where it is missing and matplotlib is installed, by :mod:`adgraph.graph.mpl` (the same
boxes, laid out in layers, with no edge through a box).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.primitive import MissingRuleError
from .layout import box_levels, box_size, find_repeats, wrap_levels
from .nodes import Const, Node
from .notation import fmt_value, input_symbol, shape_str
from .sweeps import is_diff
from .tables import _Names, expression
from .tracetable import _render

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

MAX_NODES = 250

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
    __slots__ = ("id", "lines", "kind", "cluster", "detail", "node")

    def __init__(self, id_, lines, kind, cluster=None, detail=None, node=None):
        self.id = id_
        self.lines = lines
        self.kind = kind  # input, op, const, output, group, note
        self.cluster = cluster  # index into the picture's clusters, or None
        self.detail = detail  # the text shown on hover (HTML view, SVG tooltips)
        self.node = node  # the graph's node drawn by an op or input box


class _Picture:
    """What to draw: boxes, edges ``(src id, dst id, label, kind)`` -- kind ``""`` for data,
    ``"loop"`` for a folded loop's step from one iteration to the next -- and clusters
    (the folded runs' labels, indexed by ``_Box.cluster``)."""

    __slots__ = ("boxes", "edges", "clusters")

    def __init__(self, boxes, edges, clusters=()):
        self.boxes = boxes
        self.edges = edges
        self.clusters = list(clusters)


def _picture(
    graph,
    *,
    values=True,
    tangents=None,
    adjoints=None,
    max_nodes=MAX_NODES,
    digits=3,
    collapse=True,
):
    """The boxes, edges and clusters to draw."""
    nodes = graph.toposort()
    # Fold runs of repeated structure (unrolled loop bodies): iteration 1 is drawn in a
    # cluster that names the count; the other iterations' nodes map to its boxes.
    runs = find_repeats(nodes) if collapse else []
    rep = {}  # hidden node -> the node of iteration 1 drawn for it
    run_of = {}  # node of a run -> (run index, iteration)
    clusters = []
    for r, (s, p, c) in enumerate(runs):
        for k in range(c):
            for j in range(p):
                n = nodes[s + k * p + j]
                run_of[n] = (r, k)
                if k:
                    rep[n] = nodes[s + j]
    names = _Names(graph, digits)
    for s, p, c in runs:
        first = _render([names.sym(nodes[s])], "text", True)
        last = _render([names.sym(nodes[s + p * c - 1])], "text", True)
        clusters.append(
            f"repeated ×{c}: {first} … {last}, {p * c} nodes\n"
            "iteration 1 shown; collapse=False draws all"
        )
    shown = [n for n in nodes if n not in rep]
    if len(shown) > max_nodes:
        return _summary(graph, nodes, max_nodes)
    try:
        tan = (
            graph.tangents(None if tangents is True else tangents)
            if tangents is not None and (tangents is not False)
            else None
        )
    except MissingRuleError:
        tan = None  # no forward mode through this graph (a custom_vjp): values and adjoints
    adj = (
        graph.adjoints(None if adjoints is True else adjoints)
        if adjoints is not None and (adjoints is not False)
        else None
    )
    boxes, edges = [], []
    ids = {}
    for node in shown:
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
        few = not node.multiple_results and (scalar or np.size(node.value) <= 4)
        if values and node.value is not None and few:
            v = fmt_value(node.value, digits)
            lines.append(
                v.split(" ", 1)[1] if v.startswith(("f", "c", "i", "u", "b")) and (" [" in v) else v
            )
        detail = [head]
        if node.dtype is not None and not node.multiple_results:
            detail.append("shape " + shape_str(node.shape, node.dtype))
        if node.value is not None and not node.multiple_results:
            detail.append("value " + fmt_value(node.value, digits))
        # An integer or boolean node carries no derivative: its tangent and adjoint are
        # shown as "—", not as 0.
        diff = node.multiple_results or is_diff(node.value)
        if tan is not None:
            t = tan.get(node)
            t_text = "—" if not diff else fmt_value(t, digits) if t is not None else "0"
            lines.append(f"{_render([names.sym(node, 'dot')], 'text', True)} = {t_text}")
            detail.append(lines[-1])
        if adj is not None:
            a = adj.get(node)
            a_text = "—" if not diff else fmt_value(a, digits) if a is not None else "0"
            lines.append(f"{_render([names.sym(node, 'bar')], 'text', True)} = {a_text}")
            detail.append(lines[-1])
        cl = run_of[node][0] if node in run_of else None
        kind = "input" if node.is_input else "op"
        boxes.append(_Box(bid, lines, kind, cluster=cl, detail="\n".join(detail), node=node))
    nconst = 0
    seen = set()
    for node in nodes:
        dst = ids[rep.get(node, node)]
        for i in node.inputs:
            if isinstance(i, Node):
                src = ids[rep.get(i, i)]
                if src == dst:
                    continue
                kind = ""
                if i in run_of and node in run_of:
                    (ri, ki), (rn, kn) = run_of[i], run_of[node]
                    if ri == rn and ki < kn:
                        kind = "loop"  # from one iteration into the next
                if (src, dst, kind) not in seen:
                    seen.add((src, dst, kind))
                    edges.append((src, dst, "next" if kind else "", kind))
            elif isinstance(i, Const) and i.shape not in ((), None) and node not in rep:
                cid = f"c{nconst}"
                nconst += 1
                cl = run_of[node][0] if node in run_of else None
                boxes.append(
                    _Box(cid, ["const " + shape_str(i.shape, i.dtype)], "const", cluster=cl)
                )
                edges.append((cid, dst, "", ""))
    _add_outputs(graph, boxes, edges, {n: ids[rep.get(n, n)] for n in nodes}, digits)
    return _Picture(boxes, edges, clusters)


def _add_outputs(graph, boxes, edges, ids, digits):
    n = len(graph.outputs)
    for k, o in enumerate(graph.outputs):
        name = (
            "y" if n == 1 else f"y{str(k + 1).translate(str.maketrans('0123456789', '₀₁₂₃₄₅₆₇₈₉'))}"
        )
        oid = f"out{k}"
        if isinstance(o, Node):
            boxes.append(_Box(oid, [name], "output"))
            edges.append((ids[o], oid, "", ""))
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
    edges = [(a, b, f"×{c}" if c > 1 else "", "") for (a, b), c in counts.items()]
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
    return _Picture(boxes, edges)


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


def _arrange(pic: _Picture) -> tuple[dict[str, int], dict[str, int], int, bool]:
    """(row, column, levels per row, wrapped) of every box: levels left to right, wrapped
    into rows stacked top to bottom when one row would be too wide (see
    :mod:`adgraph.graph.layout`). A folded run that spans rows is drawn as one cluster
    per row, the later ones labelled as continued."""
    ids = [b.id for b in pic.boxes if b.kind != "note"]
    level = box_levels(ids, [(a, b) for a, b, _, kind in pic.edges if kind != "loop"])
    sizes = {b.id: box_size(b.lines) for b in pic.boxes if b.kind != "note"}
    per_row = wrap_levels(level, sizes)
    nlev = max(level.values(), default=0) + 1
    row = {i: level[i] // per_row for i in ids}
    col = {i: level[i] - row[i] * per_row for i in ids}
    return row, col, per_row, per_row < nlev


def _dot_box(b: _Box, indent: str) -> str:
    label = "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in b.lines if s)
    tip = f", tooltip={_dot_quote(b.detail).replace(chr(10), chr(92) + 'n')}" if b.detail else ""
    return f'{indent}{b.id} [label="{label}"{tip}, {_DOT_STYLE[b.kind]}];'


def to_dot(
    graph: Graph,
    *,
    values: bool = True,
    tangents: Any = None,
    adjoints: Any = None,
    max_nodes: int = MAX_NODES,
    rankdir: str = "LR",
    digits: int = 3,
    collapse: bool = True,
) -> str:
    """Graphviz DOT text for ``graph``.

    A graph too long for one row is wrapped: its levels run left to right in rows stacked
    top to bottom, so that the picture is at most about twice as wide as it is high
    (``rankdir="LR"`` only). Runs of repeated structure -- an unrolled loop's bodies -- are
    drawn once, in a dashed cluster naming the count, with a dashed ``next`` edge from one
    iteration into the next.

    Parameters
    ----------
    values : bool
        Show each node's value (else its shape and dtype).
    tangents : None, True, or a seed
        Also show each node's tangent (True: the default seed, see :meth:`Graph.tangents`).
    adjoints : None, True, or output cotangents
        Also show each node's adjoint (True: ones, see :meth:`Graph.adjoints`).
    max_nodes : int
        Larger graphs (after folding) are summarised (see the module documentation).
    rankdir : str
        Graphviz layout direction: ``"LR"`` (left to right, wrapped into rows) or ``"TB"``
        (top to bottom, not wrapped).
    collapse : bool
        Fold repeated runs (default); ``False`` draws every node.
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', not {rankdir!r}")
    pic = _picture(
        graph,
        values=values,
        tangents=tangents,
        adjoints=adjoints,
        max_nodes=max_nodes,
        digits=digits,
        collapse=collapse,
    )
    row, col, _, wrapped = _arrange(pic)
    wrapped = wrapped and rankdir == "LR"
    out = [
        f"digraph {_dot_quote(graph.name)} {{",
        f"  rankdir={rankdir};",
    ]
    if wrapped or pic.clusters:
        out.append("  newrank=true;")
    out += [
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#475569", arrowsize=0.7];',
    ]

    started = set()

    def cluster_lines(boxes, indent, r=0):
        lines = [_dot_box(b, indent) for b in boxes if b.cluster is None]
        for c, text in enumerate(pic.clusters):
            members = [b for b in boxes if b.cluster == c]
            if not members:
                continue
            if c in started:
                text = "(continued) " + text.split(":")[0]
            started.add(c)
            lines.append(f"{indent}subgraph cluster_rep{c}_{r} {{")
            label = _dot_quote(text).replace("\n", "\\n")
            lines.append(
                f'{indent}  label={label}; fontsize=10; fontcolor="#475569"; '
                'style="dashed,rounded"; color="#94a3b8";'
            )
            lines += [_dot_box(b, indent + "  ") for b in members]
            lines.append(f"{indent}}}")
        return lines

    notes = [b for b in pic.boxes if b.kind == "note"]
    if notes:  # a title above the picture, not a box that widens its first column
        out.append(f"  labelloc=t; label={_dot_quote(' '.join(notes[0].lines))}; fontsize=10;")
    drawn = [b for b in pic.boxes if b.kind != "note"]
    if not wrapped:
        out += cluster_lines(drawn, "  ")
    else:
        # Rows are invisible clusters declared top to bottom; boxes of one column share a
        # rank (rank=same across rows, which newrank allows), and a chain of invisible
        # anchors, one per column, keeps the columns in order even where no edge does.
        for r in sorted(set(row.values())):
            out.append(f"  subgraph cluster_row{r} {{")
            out.append("    style=invis;")
            out += cluster_lines([b for b in drawn if row[b.id] == r], "    ", r)
            out.append("  }")
        ncol = max(col.values()) + 1
        out.append('  node [style=invis, shape=point, width=0, height=0, label=""];')
        for c in range(ncol):
            members = " ".join(f"{b.id};" for b in drawn if col[b.id] == c)
            out.append(f"  {{rank=same; col{c}; {members}}}")
        if ncol > 1:
            out.append("  " + " -> ".join(f"col{c}" for c in range(ncol)) + " [style=invis];")
    for a, b, lab, kind in pic.edges:
        attrs = []
        if lab:
            attrs += [f"label={_dot_quote(lab)}", "fontsize=9"]
        if kind == "loop":
            attrs += ["style=dashed", 'color="#94a3b8"', "constraint=false"]
        elif wrapped and (row[a] != row[b] or col[a] >= col[b]):
            attrs.append("constraint=false")  # wraps to a later row
        attr = f" [{', '.join(attrs)}]" if attrs else ""
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


def _matplotlib_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _drawn(graph: Graph, fmt: str, options: dict) -> bytes:
    """The picture in ``fmt`` by Graphviz's ``dot``; without it, by matplotlib (the same
    boxes and notation, laid out by :mod:`adgraph.graph.mpl`); with neither, an error
    naming both."""
    if graphviz_available() or not _matplotlib_available():
        return _run_dot(to_dot(graph, **options), fmt)
    from . import mpl

    return mpl.render_graph(graph, fmt, **options)


def to_svg(graph: Graph, **options: Any) -> str:
    """SVG text of the picture, drawn by Graphviz's ``dot`` or, without it, by matplotlib;
    options as :func:`to_dot`."""
    return _drawn(graph, "svg", options).decode("utf-8")


def to_png(graph: Graph, **options: Any) -> bytes:
    """PNG bytes of the picture, drawn by Graphviz's ``dot`` or, without it, by
    matplotlib; options as :func:`to_dot`."""
    return _drawn(graph, "png", options)


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
    collapse: bool = True,
) -> str:
    """A Mermaid ``flowchart`` (renders in GitHub Markdown and many editors); options as
    :func:`to_dot`."""
    pic = _picture(
        graph,
        values=values,
        tangents=tangents,
        adjoints=adjoints,
        max_nodes=max_nodes,
        digits=digits,
        collapse=collapse,
    )
    out = [f"flowchart {direction}"]

    def box(b):
        a, z = _MERMAID_SHAPE[b.kind]
        label = "<br/>".join(_mermaid_text(s) for s in b.lines if s)
        return f"  {b.id}{a}{label}{z}"

    out += [box(b) for b in pic.boxes if b.cluster is None]
    for c, text in enumerate(pic.clusters):
        out.append(f'  subgraph rep{c} ["{_mermaid_text(text)}"]')
        out += ["  " + box(b) for b in pic.boxes if b.cluster == c]
        out.append("  end")
    for a, b, lab, _kind in pic.edges:
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
    ".html": "html",
    ".htm": "html",
}


def save(graph: Graph, path: str | os.PathLike[str], **options: Any) -> str:
    """Write the picture to ``path``; the extension picks the format (.dot, .gv, .mmd,
    .svg, .png, .pdf, or .html for the interactive view of :mod:`adgraph.graph.html`).
    SVG, PNG and PDF are drawn by Graphviz's ``dot``, or by matplotlib where ``dot`` is
    missing. Returns the path as a string."""
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
    elif fmt == "html":
        from .html import to_html

        options.pop("rankdir", None)
        p.write_text(to_html(graph, **options), encoding="utf-8")
    elif fmt == "mermaid":
        direction = options.pop("rankdir", "LR")
        p.write_text(to_mermaid(graph, direction=direction, **options), encoding="utf-8")
    else:
        p.write_bytes(_drawn(graph, fmt, options))
    return str(p)
