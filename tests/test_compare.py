"""ad.compare: automatic vs finite-difference vs symbolic derivatives."""

from __future__ import annotations

import builtins
import json

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.compare import EXAMPLES, SYMPY_HINT


@pytest.fixture(scope="module")
def article():
    f, x, _ = EXAMPLES["article"]
    return ad.compare(f, *x)


def test_article_ad_and_value(article):
    assert article.value == pytest.approx(8 + 4 - np.log(2))
    np.testing.assert_array_equal(article.ad["gradient"], [3.5, 3.0])
    assert article.ad["graph_operations"] == 4
    assert article.ad["time_s"] > 0


def test_finite_differences_show_truncation_and_round_off(article):
    fd = {r["step"]: r for r in article.fd}
    assert len(fd) == 12
    # truncation: central error ~ h^2, forward ~ h
    assert fd[1e-1]["central_error"] > 100 * fd[1e-3]["central_error"]
    assert fd[1e-1]["forward_error"] > 5 * fd[1e-2]["forward_error"]
    # round-off: tiny steps are worse than the best one
    assert fd[1e-12]["central_error"] > 100 * article.best_central["central_error"]
    assert article.best_central["central_error"] < 1e-9
    assert article.best_forward["forward_error"] < 1e-6
    assert article.best_central["central_error"] < article.best_forward["forward_error"]


def test_sympy_agrees_on_the_article(article):
    s = article.sympy
    assert s["status"] == "ok"
    assert s["error"] < 1e-12
    assert s["derivative_text"] == "x2 - 1/x1, x1 + 1"
    assert s["derivative_ops"] <= 5 and s["diff_time_s"] > 0


def test_report_text_markdown_json(article):
    text = str(article)
    assert "Three ways to differentiate f at x1 = 2, x2 = 4" in text
    assert "gradient  [3.5, 3]" in text
    assert "Finite differences" in text and "SymPy" in text
    md = article.to_markdown()
    assert "| AD (reverse) | [3.5, 3] |" in md
    d = json.loads(json.dumps(article.to_dict()))
    assert d["ad"]["gradient"] == [3.5, 3.0]
    assert d["sympy"]["status"] == "ok"


def test_tanh_layer_swells():
    f, x, _ = EXAMPLES["tanh-layer"]
    r = ad.compare(f, *x, steps=[1e-5])
    s = r.sympy
    assert s["status"] == "ok" and s["error"] < 1e-10
    assert s["derivative_ops"] > 2 * s["function_ops"]
    # the derivative is the article's tanh-layer formula
    w = 0.5
    z = w * 1.5 + 0.1
    want = -1.5 * 4 / (np.exp(z) - np.exp(-z)) ** 2
    assert r.ad["gradient"][0] == pytest.approx(want)


def test_composition_of_depth_10_swells_exponentially():
    f, x, _ = EXAMPLES["composition"]
    r = ad.compare(f, *x, steps=[1e-6], repeat=1)
    s = r.sympy
    assert s["status"] == "ok"
    assert abs(s["gradient"][0] - r.ad["gradient"][0]) < 1e-12
    assert s["function_ops"] > 1000  # f itself swells: x appears 2**10 times
    assert s["derivative_ops"] > 100 * r.ad["grad_graph_operations"]
    assert r.ad["graph_operations"] == 30
    assert "characters" in s["derivative_text"]


def test_branching_function_makes_sympy_fail_but_not_ad():
    f, x, _ = EXAMPLES["branch"]
    r = ad.compare(f, *x)
    assert r.sympy["status"] == "failed"
    assert "cannot determine truth value of Relational" in r.sympy["reason"]
    np.testing.assert_array_equal(r.ad["gradient"], [2.0])
    assert r.best_central["central_error"] < 1e-12
    text = str(r)
    assert "FAILED: TypeError: cannot determine truth value of Relational" in text
    assert "control flow" in text
    r2 = ad.compare(f, 1.0, symbolic=False)
    np.testing.assert_array_equal(r2.ad["gradient"], [0.5])
    assert r2.sympy["status"] == "skipped"


def test_array_arguments():
    def f(x, w):
        return anp.sum(anp.tanh(x * w)) + w[0] ** 2

    r = ad.compare(f, np.array([0.5, -1.0]), np.array([2.0, 0.3]), steps=[1e-6])
    gx, gw = ad.grad(f, argnums=(0, 1))(np.array([0.5, -1.0]), np.array([2.0, 0.3]))
    np.testing.assert_allclose(r.ad["gradient"], np.concatenate([gx, gw]))
    assert r.fd[0]["central_error"] < 1e-8
    assert r.sympy["status"] == "ok" and r.sympy["error"] < 1e-12
    assert r.sympy["derivative_text"].count(",") == 3


def test_without_sympy_the_report_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_sympy(name, *args, **kwargs):
        if name == "sympy" or name.startswith("sympy."):
            raise ImportError("No module named 'sympy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sympy)
    f, x, _ = EXAMPLES["article"]
    r = ad.compare(f, *x, steps=[1e-5])
    assert r.sympy == {"status": "unavailable", "reason": SYMPY_HINT}
    assert "pip install adgraph[sympy]" in str(r)


# ------------------------------------------------------------------ refusals
def test_non_scalar_output_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"compare needs a scalar function: .* shape \(2,\)"):
        ad.compare(lambda x: anp.sin(x) * anp.cos(x), np.array([0.3, 0.1]))
    with pytest.raises(ValueError, match="anp.sum"):
        ad.compare(lambda x: x * 2.0, np.array([0.3, 0.1]))
    with pytest.raises(ValueError, match="compare needs a scalar function: .* a complex number"):
        ad.compare(lambda x: anp.exp(1j * x), 0.3)
    # the suggested fix works: the sum of the elementwise function is a scalar
    r = ad.compare(lambda x: anp.sum(anp.sin(x)), np.array([0.3, 0.1]), symbolic=False)
    np.testing.assert_allclose(r.ad["gradient"], np.cos([0.3, 0.1]), rtol=1e-14)


def test_bad_function_or_point_is_named():
    with pytest.raises(TypeError, match="f must be a function, got int"):
        ad.compare(3, 1.0)
    with pytest.raises(ValueError, match="argument 0 must be a real number or array, got str"):
        ad.compare(lambda x: x, "abc")
    with pytest.raises(ValueError, match="argument 1 is complex"):
        ad.compare(lambda x, y: x * y, 1.0, 2j)
