"""Computation graphs: tracing, topological order, evaluation trace tables, pictures."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.graph import Const, Graph, GraphCycleError, Node
from adgraph.graph import render as render_mod


def article(x1, x2):
    return x1 * x2 + x2 - anp.log(x1)


@pytest.fixture(scope="module")
def g():
    return ad.trace(article, 2.0, 4.0)


def nfc(s):
    # the tables write accents as combining marks; compare in one normal form
    return unicodedata.normalize("NFC", " ".join(s.split()))


def rows(table):
    return [(nfc(a), nfc(b)) for a, b in table.lines()]


def same(got, want):
    assert got == [(nfc(a), nfc(b)) for a, b in want]


# ------------------------------------------------------------------ the article's trace
def test_article_primal_trace_exact(g):
    same(
        rows(g.tables().primal),
        [
            ("v_-1 = x_1", "2"),
            ("v_0 = x_2", "4"),
            ("v_1 = v_-1 v_0", "2(4) = 8"),
            ("v_2 = ln(v_-1)", "ln(2) = 0.693"),
            ("v_3 = v_1 + v_0", "8 + 4 = 12"),
            ("v_4 = v_3 - v_2", "12 - 0.693 = 11.307"),
            ("y = v_4", "11.307"),
        ],
    )


def test_article_tangent_trace(g):
    t = g.tables(seed=0).tangent
    same(
        rows(t),
        [
            ("v̇_-1 = ẋ_1", "1"),
            ("v̇_0 = ẋ_2", "0"),
            ("v̇_1 = v_0 v̇_-1 + v_-1 v̇_0", "4(1) + 2(0) = 4"),
            ("v̇_2 = v̇_-1/v_-1", "0.5(1) = 0.5"),
            ("v̇_3 = v̇_1 + v̇_0", "4 + 0 = 4"),
            ("v̇_4 = v̇_3 - v̇_2", "4 - 0.5 = 3.5"),
            ("ẏ = v̇_4", "3.5"),
        ],
    )
    # the other seed direction gives the other partial derivative
    assert rows(g.tables(seed={"x2": 1.0}).tangent)[-1] == (nfc("ẏ = v̇_4"), "3")


def test_article_adjoint_trace_in_reverse_topological_order(g):
    a = g.tables().adjoint
    same(
        rows(a),
        [
            ("v̄_4 = ȳ", "1"),
            ("v̄_3 = v̄_4", "1"),
            ("v̄_2 = -v̄_4", "-1"),
            ("v̄_1 = v̄_3", "1"),
            ("v̄_0 = v̄_3 + v̄_1 v_-1", "1 + 1(2) = 3"),
            ("v̄_-1 = v̄_2/v_-1 + v̄_1 v_0", "-1(0.5) + 1(4) = 3.5"),
            ("x̄_1 = v̄_-1", "3.5"),
            ("x̄_2 = v̄_0", "3"),
        ],
    )


def test_article_trace_other_formats(g):
    t = g.tables()
    md = t.to_markdown()
    assert "| $v_{1} = v_{-1} v_{0}$ | $2(4) = 8$ |" in md
    assert r"| $v_{2} = \ln(v_{-1})$ | $\ln(2) = 0.693$ |" in md
    assert r"$\bar{v}_{0} = \bar{v}_{3} + \bar{v}_{1} v_{-1}$" in md
    tex = t.to_latex()
    assert tex.count(r"\begin{array}{|l|l|}") == 3
    assert r"v_{4} = v_{3} - v_{2} & 12 - 0.693 = 11.307 \\" in tex
    assert r"\dot{v}_{1} = v_{0} \dot{v}_{-1} + v_{-1} \dot{v}_{0} & 4(1) + 2(0) = 4 \\" in tex
    html = g._repr_html_()
    assert html.count("<table") == 3
    assert "v<sub>-1</sub> = x<sub>1</sub>" in html
    assert "v&#772;<sub>0</sub>" in html  # bar v_0
    text = str(t)
    assert "| v_4  = v_3 - v_2" in text
    json.dumps(t.to_dict())
    assert t.to_dict()["primal"]["rows"][5]["number"] == pytest.approx(12 - np.log(2))


def test_toposort_is_kahn_by_levels(g):
    order = g.toposort()
    assert [n.op for n in order] == ["input", "input", "multiply", "log", "add", "subtract"]
    lv = g.levels()
    assert [lv[n] for n in order] == [0, 0, 1, 1, 2, 3]
    labels = g.labels()
    assert [labels[n] for n in order] == [-1, 0, 1, 2, 3, 4]
    # every edge goes forward in the order
    pos = {n: k for k, n in enumerate(order)}
    assert all(pos[a] < pos[b] for a, b, _ in g.edges())


def test_node_records_op_params_shape_dtype_value(g):
    mul = g.toposort()[2]
    assert mul.op == "multiply" and mul.prim.name == "multiply"
    assert mul.inputs == (g.inputs[0], g.inputs[1])
    assert mul.shape == () and mul.dtype == np.float64 and mul.value == 8.0
    assert [n.name for n in g.inputs] == ["x1", "x2"]
    s = ad.trace(lambda x: anp.sum(x, axis=0), np.ones((2, 3)))
    node = s.outputs[0]
    assert node.params == {"axis": (0,), "keepdims": False} or node.params.get("axis") in (0, (0,))
    assert node.shape == (3,) and node.inputs[0].shape == (2, 3)


def test_shared_subexpression_is_one_node():
    def f(x):
        s = anp.sin(x)
        return s * s + s

    g = ad.trace(f, 0.5)
    assert g.op_counts()["sin"] == 1
    (sin,) = [n for n in g.nodes if n.op == "sin"]
    assert len(g.consumers()[sin]) == 3  # twice in the product, once in the sum
    assert ad.trace(lambda x: x * x, 3.0).op_counts()["input"] == 1


def test_constants_are_kept_and_shown():
    g = ad.trace(lambda x: 2.0 * x + 1.0, 3.0)
    mul = [n for n in g.nodes if n.op == "multiply"][0]
    assert isinstance(mul.inputs[0], Const) and mul.inputs[0].value == 2.0
    assert ("v_1 = 2 v_0", "2(3) = 6") in rows(g.tables().primal)


# ------------------------------------------------------------------ evaluation
def test_graph_evaluates_again_and_is_differentiable(g):
    assert g(3.0, 5.0) == pytest.approx(article(3.0, 5.0))
    assert ad.grad(g, argnums=(0, 1))(3.0, 5.0) == pytest.approx((5 - 1 / 3, 4.0))
    with pytest.raises(ValueError, match="traced with shape"):
        g(np.ones(2), 1.0)
    with pytest.raises(TypeError):
        g(1.0)


def test_nondifferentiable_ops_are_recorded_so_replay_is_right():
    g = ad.trace(lambda x: anp.where(x > 0, x, -2.0 * x), np.array([1.0, -1.0]))
    assert "greater" in g.op_counts()
    np.testing.assert_allclose(g(np.array([-3.0, 4.0])), [6.0, 4.0])


def test_pytree_inputs_are_named_by_path():
    g = ad.trace(lambda p: p["w"] * p["b"][0], {"w": 2.0, "b": [3.0]})
    assert [n.name for n in g.inputs] == ["p['b'][0]", "p['w']"]
    assert g({"w": 4.0, "b": [5.0]}) == 20.0


# ------------------------------------------------------------------ derivatives of nodes
def vec_fn(x, W):
    return anp.sum(anp.tanh(W @ x) ** 2) + x[0] * x[1]


def test_tangents_and_adjoints_match_the_engine():
    rng = np.random.default_rng(0)
    x, W = rng.normal(size=3), rng.normal(size=(2, 3))
    g = ad.trace(vec_fn, x, W)
    v = rng.normal(size=3)
    tan = g.tangents([v, np.zeros_like(W)])
    _, want = ad.jvp(vec_fn, (x, W), (v, np.zeros_like(W)))
    assert tan[g.outputs[0]] == pytest.approx(want)
    adj = g.adjoints()
    gx, gW = ad.grad(vec_fn, argnums=(0, 1))(x, W)
    np.testing.assert_allclose(adj[g.inputs[0]], gx)
    np.testing.assert_allclose(adj[g.inputs[1]], gW)
    t = g.tables()  # array rows render without error and show the gradient
    assert rows(t.adjoint)[-2][1].startswith("[")


def test_multiple_results_and_custom_rules():
    @ad.custom_vjp
    def f(x):
        return anp.sin(x)

    f.defvjp(lambda x: (anp.sin(x), anp.cos(x)), lambda c, ct: (ct * c,))

    g = ad.trace(lambda x: f(x) * x, 0.7)
    assert "item" in g.op_counts() and "custom_vjp_call" in g.op_counts()
    adj = g.adjoints()
    assert adj[g.inputs[0]] == pytest.approx(np.cos(0.7) * 0.7 + np.sin(0.7))
    # forward mode has no rule to run: a custom_vjp refuses it rather than ignore its rule
    with pytest.raises(NotImplementedError, match="custom_vjp 'f'.*custom_jvp"):
        g.tangents()
    # its tangent table is forward mode too: the tables say why it is missing
    t = g.tables()
    assert t.tangent is None and t.adjoint is not None
    assert "Forward tangent trace: not available" in t.notes[0] and "custom_vjp 'f'" in t.notes[0]


# ------------------------------------------------------------------ second order
def test_hessian_vector_trace_records_the_inner_transformations():
    h = ad.trace_hvp(article, (2.0, 4.0), (1.0, 0.0))
    H = np.array(ad.hessian(article, argnums=(0, 1))(2.0, 4.0), dtype=float)
    np.testing.assert_allclose(np.array(h(2.0, 4.0), dtype=float), H @ [1.0, 0.0])
    np.testing.assert_allclose(np.array(h(3.0, 5.0), dtype=float), [1 / 9, 1.0])
    assert len(h) > len(ad.trace(article, 2.0, 4.0)) - 2
    # the same through a user-written forward-over-reverse function
    v = np.array([0.3, -1.0])

    def rosen(x):
        return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    x = np.array([0.5, 0.8])
    hv = ad.trace(lambda x: ad.jvp(ad.grad(rosen), (x,), (v,))[1], x)
    np.testing.assert_allclose(hv(x), ad.hessian(rosen)(x) @ v)
    assert len(hv) > len(ad.trace(rosen, x))
    str(hv.tables(seed=0))


# ------------------------------------------------------------------ cycles
def test_hand_built_graph_and_cycle_error():
    x = Node("input", name="x", value=np.float64(2.0))
    a = Node("sin", (x,), value=np.sin(2.0))
    b = Node("multiply", (a, x), value=np.sin(2.0) * 2.0)
    ok = Graph([x], [b])
    assert [n.op for n in ok.toposort()] == ["input", "sin", "multiply"]
    assert ok(1.5) == pytest.approx(np.sin(1.5) * 1.5)
    # close a cycle: a depends on b, which depends on a
    a.inputs = (b,)
    cyc = Graph([x], [b])
    with pytest.raises(GraphCycleError, match=r"cycle through node \d+ \((sin|multiply)\)"):
        cyc.toposort()
    with pytest.raises(GraphCycleError):
        cyc(1.0)


# ------------------------------------------------------------------ pictures
def parse_dot(text):
    nodes = dict(re.findall(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', text, re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+)", text, re.M)
    return nodes, edges


def test_dot_parses_back_to_the_graph(g):
    dot = g.to_dot(tangents=True, adjoints=True)
    assert dot.startswith('digraph "article" {')
    nodes, edges = parse_dot(dot)
    labels = g.labels()
    sub = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
    # map each DOT id to the graph node whose v_i heads its label
    by_name = {f"v{str(labels[n]).translate(sub)}": n for n in g.nodes}
    ids = {}
    for nid, label in nodes.items():
        head = label.split(" = ")[0]
        if head in by_name:
            ids[nid] = by_name[head]
    assert len(ids) == len(g.nodes)
    want = sorted((labels[a], labels[b]) for a, b, _ in g.edges())
    got = sorted((labels[ids[a]], labels[ids[b]]) for a, b in edges if a in ids and b in ids)
    assert got == want
    out_edges = [(a, b) for a, b in edges if b.startswith("out")]
    assert [ids[a] for a, _ in out_edges] == [g.outputs[0]]
    v4 = next(k for k, n in ids.items() if n is g.outputs[0])
    assert nodes[v4] == "v₄ = v₃ - v₂\\n11.307\\nv̇₄ = 3.5\\nv̄₄ = 1"


def test_mermaid(g):
    m = g.to_mermaid()
    assert m.startswith("flowchart LR")
    assert m.count(" --> ") == len(g.edges()) + 1
    assert 'n2["v₁ = v₋₁ v₀<br/>8"]' in m


def test_arrays_show_shapes_and_constants():
    g = ad.trace(lambda x: anp.sum(np.ones((3, 3)) @ x), np.arange(3.0))
    dot = g.to_dot()
    assert "const f64[3,3]" in dot and "f64[3]" in dot


def test_large_graph_is_summarised():
    def chain(x):
        for _ in range(400):
            x = anp.sin(x) * x + 0.5
        return x

    g = ad.trace(chain, 0.3)
    assert len(g) == 1201
    # collapse=False: without folding the loop, 1201 nodes exceed the limit
    dot = g.to_dot(max_nodes=100, collapse=False)
    nodes, edges = parse_dot(dot)
    assert len(nodes) <= 100
    assert "summarised" in dot and "sin" in dot
    full = g.to_dot(max_nodes=5000, collapse=False)
    assert len(parse_dot(full)[0]) == 1201 + 1
    m = g.to_mermaid(max_nodes=100, collapse=False)
    assert m.count("\n") < 150


def test_save_formats(tmp_path, g):
    g.save(tmp_path / "g.dot")
    g.save(tmp_path / "g.mmd")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert (tmp_path / "g.mmd").read_text().startswith("flowchart")
    with pytest.raises(ValueError, match="format"):
        g.save(tmp_path / "g.xyz")


def test_without_graphviz_the_message_says_how_to_install(monkeypatch, g):
    monkeypatch.setattr(render_mod.shutil, "which", lambda name: None)
    monkeypatch.setattr(render_mod, "_matplotlib_available", lambda: False)
    with pytest.raises(render_mod.GraphvizNotFoundError, match="apt-get install graphviz"):
        g.to_svg()
    assert g._repr_svg_() is None


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_svg_and_png_with_graphviz(tmp_path, g):
    svg = g.to_svg(tangents=True)
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:500]
    assert "11.307" in svg
    assert g._repr_svg_() is not None
    g.save(tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------ large pictures
def loop_chain(x):
    for _ in range(60):
        x = anp.sin(x) * x + 0.5
    return x


def logistic_gradient_graph():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (rng.random(20) > 0.5).astype(float)

    def loss(w, b):
        z = X @ w + b
        return anp.mean(anp.log1p(anp.exp(-z)) + (1 - y) * z) + 0.01 * anp.sum(w**2)

    return ad.trace(ad.grad(loss), np.zeros(3), 0.0)


def svg_size(svg):
    w, h = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return float(w), float(h)


def test_repeated_loop_bodies_are_folded_into_one_counted_cluster():
    from adgraph.graph.layout import find_repeats

    g = ad.trace(loop_chain, 0.3)
    assert len(g) == 181
    # one run: after the input, 60 iterations of (sin, multiply, add)
    assert find_repeats(g.toposort()) == [(1, 3, 60)]
    dot = g.to_dot()
    nodes, edges = parse_dot(dot)
    assert len(nodes) == 1 + 3 + 1  # input, one body, output
    assert "repeated ×60" in dot and "collapse=False draws all" in dot
    assert re.search(r"n3 -> n1 \[label=\"next\".*style=dashed", dot)  # add feeds next sin
    # expanded: every node, and the last iteration's value
    full = g.to_dot(collapse=False)
    assert len(parse_dot(full)[0]) == 181 + 1
    assert "repeated" not in full
    # a graph without repeats is drawn node for node, unwrapped (the article)
    small = ad.trace(article, 2.0, 4.0).to_dot()
    assert "cluster" not in small and "rank=same" not in small


def test_a_repeat_too_short_to_hide_much_is_drawn_in_full():
    def two(x):
        for _ in range(3):
            x = anp.sin(x) * x
        return x

    g = ad.trace(two, 0.3)
    assert "repeated" not in g.to_dot()
    assert len(parse_dot(g.to_dot())[0]) == len(g) + 1


def test_long_graphs_are_wrapped_into_rows():
    from adgraph.graph.layout import box_size

    g = ad.trace(loop_chain, 0.3)
    dot = g.to_dot(collapse=False)
    rows = re.findall(r"subgraph cluster_row(\d+)", dot)
    assert len(rows) >= 4  # 181 levels, wrapped
    cols = re.findall(r"\{rank=same; col(\d+);", dot)
    assert 10 <= len(cols) <= 60
    # every box sits in exactly one column
    placed = re.findall(r"\b(n\d+);", " ".join(re.findall(r"\{rank=same;[^}]*\}", dot)))
    assert sorted(placed) == sorted(f"n{k}" for k in range(181))
    # the estimated picture: column widths by rows of row heights within 4:1
    pic = render_mod._picture(g, collapse=False)
    row, col, per_row, wrapped = render_mod._arrange(pic)
    assert wrapped and per_row == len(cols)
    est_w = per_row * (max(box_size(b.lines)[0] for b in pic.boxes) + 36)
    est_h = len(rows) * (max(box_size(b.lines)[1] for b in pic.boxes) + 18)
    assert 0.5 <= est_w / est_h <= 4
    assert "cluster_row" in logistic_gradient_graph().to_dot()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize(
    "make, options",
    [
        (lambda: ad.trace(loop_chain, 0.3), {}),
        (lambda: ad.trace(loop_chain, 0.3), {"collapse": False}),
        (logistic_gradient_graph, {}),
        (logistic_gradient_graph, {"adjoints": True}),
    ],
)
def test_rendered_pictures_are_at_most_four_to_one(make, options):
    # before wrapping: the 181-node chain was 5982 x 108 pt, the gradient graph 2141 x 202
    w, h = svg_size(make().to_svg(**options))
    assert max(w / h, h / w) <= 4, (w, h)
    assert w <= 2500 and h <= 2500


def test_html_view_holds_every_node_and_fetches_nothing(tmp_path):
    g = ad.trace(loop_chain, 0.3)
    page = g.to_html(collapse=False)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('class="adg-node"') == 181 + 1  # nodes and the output
    labels = g.labels()
    sub = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
    for n in g.nodes:
        assert f"v{str(labels[n]).translate(sub)} = " in page
    # hover text: shape, value and adjoint (ȳ = 1 at the output)
    last = labels[g.outputs[0]]
    want_adj = f"v̄{str(last).translate(sub)} = 1"
    assert want_adj in page and "shape f64[]" in page
    for ref in ("http:", "https:", "src=", "<link", "@import", "//cdn"):
        assert ref not in page
    assert "<script>" in page and "wheel" in page and "viewBox" in page
    # folded by default, and saved by extension
    assert g.to_html().count('class="adg-node"') == 1 + 3 + 1
    path = g.save(tmp_path / "g.html")
    assert open(path, encoding="utf-8").read().count('class="adg-node"') == 5
    # embedded in Jupyter when the graph is large
    big = ad.trace(lambda x: loop_chain(loop_chain(loop_chain(x))), 0.3)
    assert len(big) > 300
    cell = big._repr_html_()
    assert cell.startswith("<div") and 'class="adg-node"' in cell and "http" not in cell


def test_html_view_of_an_integer_output_has_no_adjoints():
    g = ad.trace(lambda x: anp.floor(x) > 0, 1.5)
    page = g.to_html()
    assert page.count('class="adg-node"') == len(g) + 1


# ------------------------------------------------------------------ complex values
def test_tables_of_a_complex_intermediate():
    # 1j * x is recorded as a Python complex; the sweeps hand the engine NumPy values.
    g = ad.trace(lambda x: anp.real(anp.exp(1j * x)), 2.0)
    tan, adj = g.tangents(), g.adjoints()
    (x,) = g.inputs
    (y,) = g.outputs
    assert tan[y] == pytest.approx(-np.sin(2.0)) and adj[x] == pytest.approx(-np.sin(2.0))
    text = nfc(str(g.tables()))
    assert nfc("x̄ = v̄_0 | -0.909 |") in text and nfc("ẏ = v̇_3 | -0.909 |") in text
    assert "exp(0+2i) = -0.416+0.909i" in text
    # |exp(i x)| = 1 for every x: its derivative is 0
    g = ad.trace(lambda x: anp.abs(anp.exp(1j * x)), 2.0)
    assert g.adjoints()[g.inputs[0]] == pytest.approx(0.0, abs=1e-15)
    json.dumps(g.tables().to_dict())


def test_sweeps_keep_float32():
    g = ad.trace(lambda x: anp.sin(x) * 2.0 + x, np.float32(0.5))
    tan, adj = g.tangents(), g.adjoints()
    for v in list(tan.values()) + list(adj.values()):
        assert v.dtype == np.float32
    assert adj[g.inputs[0]] == pytest.approx(2 * np.cos(0.5) + 1, rel=1e-6)


# ------------------------------------------------------------------ integer inputs
def test_integer_inputs_are_shown_as_not_differentiable():
    g = ad.trace(lambda x, n: x**n + x * n, 2.0, 3)
    text = nfc(str(g.tables()))
    assert nfc("v̇_0 = ṅ | — (int64: not differentiable) |") in text
    assert nfc("n̄ = v̄_0 | — (int64: not differentiable) |") in text
    # the float input is differentiated as before: d/dx (x^3 + 3x) = 3x^2 + 3 = 15
    assert nfc("x̄ = v̄_-1 | 15 |") in text and nfc("ẏ = v̇_3 | 15 |") in text
    d = g.tables().to_dict()
    rows = {r["formula"].split("=")[0].strip(): r for r in d["adjoint"]["rows"]}
    assert rows[nfc("n̄")]["number"] is None
    assert "not differentiable" in rows[nfc("n̄")]["value"]
    assert r"\text{--- (int64: not differentiable)}" in g.tables().to_latex()
    assert "— (int64: not differentiable)" in g.tables().to_html()
    assert "v̇₀ = —" in g.to_dot(tangents=True, adjoints=True)


def test_all_integer_trace_has_no_zero_derivatives():
    # x * 2 with x = 2 (an int): nothing is differentiable -- no silent 0 tangent or adjoint
    g = ad.trace(lambda x: x * 2, 2)
    tables = g.tables()
    for t in (tables.tangent, tables.adjoint):
        values = [v for _, v in t.lines()]
        assert values and all(v == "— (int64: not differentiable)" for v in values), values
    # the same function of a float is differentiated
    assert "| 2 |" in nfc(str(ad.trace(lambda x: x * 2, 2.0).tables().adjoint))
