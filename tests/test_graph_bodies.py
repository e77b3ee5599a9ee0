"""Loops and called functions are one box each; the HTML view opens their bodies."""

from __future__ import annotations

import re

import numpy as np

import adgraph as ad
import adgraph.numpy as anp
from adgraph import lax
from adgraph.graph.bodies import bodies
from adgraph.graph.html import to_html


def rnn(x):
    h, ys = lax.scan(lambda c, xi: (anp.tanh(c * 0.5 + xi), c), x[0], x)
    return h + anp.sum(ad.checkpoint(lambda u: anp.exp(u) * 2.0)(x)) + anp.sum(ys)


X = np.linspace(0.1, 0.7, 4)


def test_bodies_are_traced_at_the_values_they_first_ran_on():
    g = ad.trace(rnn, X)
    by_op = {n.op: n for n in g.nodes}
    ((title, step),) = bodies(by_op["scan"])
    assert "first of 4" in title
    assert [n.op for n in step.toposort() if not n.is_input] == ["multiply", "add", "tanh"]
    # the first step: carry x[0], slice x[0]
    np.testing.assert_allclose(step.outputs[0].value, np.tanh(X[0] * 0.5 + X[0]))
    ((_, called),) = bodies(by_op["checkpoint"])
    np.testing.assert_allclose(called.outputs[0].value, np.exp(X) * 2.0)
    assert bodies(by_op["tanh"] if "tanh" in by_op else g.nodes[0]) == []


def test_html_view_opens_each_body_below_its_box():
    page = to_html(ad.trace(rnn, X))
    # one hidden view per body, each tied to the box that opens it
    opened = re.findall(r'<div class="adg-body" data-for="(n\d+)" hidden', page)
    clickable = re.findall(r'<g class="adg-node" id="(n\d+)"[^>]* data-body="1">', page)
    assert len(opened) == 2 and set(opened) == set(clickable)
    assert page.count("▸ click to open its body") == 2
    assert "scan: one step (the first of 4)" in page and "tanh(" in page
    assert "checkpoint: the function called" in page and "exp(" in page
    # nothing opens at depth 0; a static picture still draws the loop as one box
    flat = to_html(ad.trace(rnn, X), open_depth=0)
    assert 'class="adg-body"' not in flat
    dot = ad.trace(rnn, X).to_dot()
    assert "tanh" not in dot and "scan" in dot


def test_a_graph_without_forward_mode_still_shows_values_and_adjoints():
    @ad.custom_vjp
    def f(x):
        return anp.exp(x)

    f.defvjp(lambda x: (anp.exp(x), anp.exp(x)), lambda r, g: (r * g,))
    g = ad.trace(lambda x: f(x) * x, 0.5)
    tables = g.tables()
    assert tables.tangent is None and [t.kind for t in tables.tables] == ["primal", "adjoint"]
    text = tables.to_text()
    assert "Forward tangent trace: not available" in text and "custom_vjp 'f'" in text
    # the adjoint of x: e^x (from the rule) * x + e^x = 1.5 e^0.5
    assert f"{1.5 * np.exp(0.5):.4g}" in text
    assert tables.to_dict()["notes"] == tables.notes
    dot = g.to_dot(tangents=True, adjoints=True)
    assert "v̄" in dot and "v̇" not in dot
