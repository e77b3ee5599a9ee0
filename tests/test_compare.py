"""ad.compare: automatic vs finite-difference vs symbolic derivatives."""

from __future__ import annotations

import builtins
import json
import multiprocessing
import os
import time

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


# ------------------------------------------------------------------ SymPy, bounded
def _is_symbolic(x):
    from adgraph.compare.symbolic import _Sym

    return isinstance(x, _Sym) or (isinstance(x, np.ndarray) and isinstance(x.flat[0], _Sym))


def test_exact_overflow_is_inf_not_a_hang():
    # SymPy's exact exp(exp(1e9)) has about 4e8 decimal digits: evaluated in float64 the
    # derivative is inf, as AD's, and the call returns at once.
    t = time.perf_counter()
    r = ad.compare(lambda x: anp.exp(anp.exp(x)), 1e9, steps=[1e-3], repeat=1)
    assert time.perf_counter() - t < 20
    assert r.sympy["status"] == "ok"
    assert r.sympy["derivative_text"] == "exp(x)*exp(exp(x))"
    np.testing.assert_array_equal(r.sympy["gradient"], [np.inf])
    np.testing.assert_array_equal(r.ad["gradient"], [np.inf])
    assert r.sympy["error"] == 0.0  # the same infinity: no difference


def test_six_deep_exp_tower_and_power_tower():
    tower = lambda x: anp.exp(anp.exp(anp.exp(anp.exp(anp.exp(anp.exp(x))))))  # noqa: E731
    t = time.perf_counter()
    r = ad.compare(tower, 1.0, steps=[1e-3], repeat=1)
    assert r.sympy["status"] == "ok" and r.sympy["gradient"][0] == np.inf
    r = ad.compare(lambda x: x**x**x, 1e100, steps=[1e-3], repeat=1)  # was OverflowError
    assert r.sympy["status"] == "ok" and r.sympy["gradient"][0] == np.inf
    assert time.perf_counter() - t < 30
    # where the numbers fit, the float64 value of SymPy's derivative is the closed form
    x = 1.5
    want = x ** (x**x) * (x**x * (np.log(x) + 1) * np.log(x) + x ** (x - 1))
    r = ad.compare(lambda x: x**x**x, x, steps=[1e-6], repeat=1)
    assert r.sympy["gradient"][0] == pytest.approx(want, rel=1e-13)
    assert r.ad["gradient"][0] == pytest.approx(want, rel=1e-13)


def test_piecewise_functions_evaluate_in_float64():
    # abs, maximum, minimum, arctan2, hypot and logaddexp give SymPy derivatives with sign,
    # Heaviside, Max and Min: each evaluated by its float64 counterpart
    def f(x, y):
        return (
            anp.abs(x) * anp.maximum(x, y)
            + anp.minimum(x, y) ** 2
            + anp.arctan2(y, x)
            + anp.hypot(x, y)
            + anp.logaddexp(x, 2 * y)
        )

    for point in [(-0.7, 0.4), (1.3, -2.0), (0.5, 0.9)]:
        r = ad.compare(f, *point, steps=[1e-6], repeat=1)
        assert r.sympy["status"] == "ok"
        np.testing.assert_allclose(r.sympy["gradient"], r.ad["gradient"], rtol=1e-13)


def test_float_evaluation_of_sympy_nodes():
    import sympy as sp

    from adgraph.compare.symbolic import _float_value

    x, y = sp.symbols("x y", real=True)
    at = {x: np.float64(-2.0), y: np.float64(3.0)}
    cases = [
        (sp.Heaviside(x), 0.0),
        (sp.Heaviside(y - 3), 0.5),  # SymPy's H(0) = 1/2
        (sp.DiracDelta(x), 0.0),
        (sp.Piecewise((x**2, x > 0), (y, True)), 3.0),
        (sp.Piecewise((x, sp.And(x < 0, y > 2)), (0, True)), -2.0),
        (sp.Max(x, y, 1), 3.0),
        (sp.sign(x) * sp.Abs(x), -2.0),
        (sp.cot(y) * sp.tan(y), 1.0),
        (sp.gamma(y), 2.0),  # no float64 counterpart here: SymPy's own numerical value
        (sp.Integer(10) ** 400 * x, -np.inf),  # exact integers beyond float64 overflow
        (sp.log(x), np.nan),  # outside the domain
        (sp.sqrt(x), np.nan),
        (1 / (y - 3), np.inf),
        (sp.zoo * x, np.nan),
    ]
    for expr, want in cases:
        got = _float_value(expr, at)
        if np.isnan(want):
            assert np.isnan(got), expr
        else:
            assert got == pytest.approx(want, rel=1e-14), expr


def _sleeps_when_symbolic(x):
    if _is_symbolic(x):
        time.sleep(60)
    return x * x


def test_timeout_stops_a_slow_symbolic_part():
    t = time.perf_counter()
    r = ad.compare(_sleeps_when_symbolic, 3.0, steps=[1e-6], repeat=1, timeout=1)
    assert time.perf_counter() - t < 15
    s = r.sympy
    assert s["status"] == "timeout"
    assert s["reason"] == "timed out after 1 s while building the expression"
    assert "timeout=SECONDS" in s["explanation"]
    np.testing.assert_array_equal(r.ad["gradient"], [6.0])  # the rest is reported as usual
    text = str(r)
    assert "not finished: timed out after 1 s while building the expression" in text
    assert "| SymPy | timeout: timed out after 1 s" in r.to_markdown()
    assert json.loads(json.dumps(r.to_dict()))["sympy"]["status"] == "timeout"
    assert multiprocessing.active_children() == []  # the child was stopped, not left behind


def _spins_in_c_when_symbolic(x):
    if _is_symbolic(x):
        sum(range(10**11))  # one C call holding the interpreter: no thread could stop it
    return x * x


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork for the deadline"
)
def test_timeout_stops_a_c_level_loop():
    t = time.perf_counter()
    r = ad.compare(_spins_in_c_when_symbolic, 3.0, steps=[1e-6], repeat=1, timeout=1.5)
    assert time.perf_counter() - t < 15
    assert r.sympy["status"] == "timeout"
    assert r.sympy["reason"] == "timed out after 1.5 s while building the expression"
    assert multiprocessing.active_children() == []


def test_without_fork_a_thread_keeps_the_deadline(monkeypatch):
    import importlib
    import threading

    cmp = importlib.import_module("adgraph.compare.deadline")  # (ad.compare is the function)

    monkeypatch.setattr(cmp, "_start_methods", lambda: ["spawn"])
    release = threading.Event()

    def waits(x):
        if _is_symbolic(x):
            release.wait(60)
        return x * x

    t = time.perf_counter()
    r = ad.compare(waits, 3.0, steps=[1e-6], repeat=1, timeout=0.5)
    release.set()  # let the abandoned thread finish
    assert time.perf_counter() - t < 15
    assert r.sympy["status"] == "timeout"
    # and a thread that finishes in time gives the same answer as the child process
    f, x, _ = EXAMPLES["article"]
    r = ad.compare(f, *x, steps=[1e-5], repeat=1)
    assert r.sympy["status"] == "ok" and r.sympy["derivative_text"] == "x2 - 1/x1, x1 + 1"


def _dies_when_symbolic(x):
    if _is_symbolic(x):
        os._exit(3)
    return x * x


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs a child process"
)
def test_a_crashing_symbolic_part_is_reported():
    r = ad.compare(_dies_when_symbolic, 3.0, steps=[1e-6], repeat=1)
    s = r.sympy
    assert s["status"] == "failed"
    assert s["reason"] == (
        "the SymPy process ended without an answer (exit status 3) while building the expression"
    )
    np.testing.assert_array_equal(r.ad["gradient"], [6.0])


def test_timeout_none_runs_in_this_process():
    calls = []

    def f(x):
        calls.append(type(x).__name__)
        return x * anp.sin(x)

    r = ad.compare(f, 0.5, steps=[1e-6], repeat=1, timeout=None)
    assert r.sympy["status"] == "ok"
    assert r.sympy["gradient"][0] == pytest.approx(np.sin(0.5) + 0.5 * np.cos(0.5), rel=1e-15)
    assert "_Sym" in calls  # the symbolic call happened here, not in a child


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), "5", True])
def test_bad_timeout_is_refused(bad):
    with pytest.raises(ValueError, match="timeout must be a positive, finite number of seconds"):
        ad.compare(lambda x: x * x, 1.0, timeout=bad)


def test_where_no_child_may_start_a_thread_takes_over(monkeypatch):
    # A multiprocessing pool's (daemonic) worker may not have children; fork itself can fail.
    import multiprocessing.context

    def refuse(self):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", refuse)
    f, x, _ = EXAMPLES["article"]
    r = ad.compare(f, *x, steps=[1e-5], repeat=1)
    assert r.sympy["status"] == "ok" and r.sympy["derivative_text"] == "x2 - 1/x1, x1 + 1"


def test_an_operation_without_a_sympy_counterpart_is_named():
    r = ad.compare(lambda x: anp.fmod(x, 0.7) * x, 1.0, steps=[1e-6], repeat=1)
    s = r.sympy
    assert s["status"] == "failed"
    assert s["reason"] == "TypeError: SymPy has no counterpart here for numpy.fmod"
    assert "without a SymPy counterpart" in s["explanation"]
    assert r.ad["gradient"][0] == pytest.approx(2 * 1.0 - 0.7, rel=1e-14)


def _allocates_when_symbolic(x):
    if _is_symbolic(x):
        bytearray(5 << 30)  # beyond the child's address-space margin: refused at once
    return x * x


@pytest.mark.skipif(
    not os.path.exists("/proc/self/statm") or "fork" not in multiprocessing.get_all_start_methods(),
    reason="the child's memory cap is set where /proc tells the current size",
)
def test_the_symbolic_child_cannot_exhaust_memory():
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    r = ad.compare(_allocates_when_symbolic, 3.0, steps=[1e-6], repeat=1)
    s = r.sympy
    assert s["status"] == "failed" and s["reason"].startswith("MemoryError")
    assert "exact, arbitrary-precision numbers" in s["explanation"]
    assert resource.getrlimit(resource.RLIMIT_AS) == before  # the cap was the child's alone
