"""The article's worked examples (quadratic DAG, logistic regression, forward gradient), each
run small through its ``main`` with figures into a temporary folder, and their numbers checked
from the ``summary.json`` they write. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from adgraph.examples import EXAMPLES, load
from adgraph.examples._common import Progress, format_value, output_dir, print_table

HAS_MPL = importlib.util.find_spec("matplotlib") is not None
HAS_SCIPY = importlib.util.find_spec("scipy") is not None
HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None


def run(name, tmp_path, *argv):
    mod = load(name)
    assert isinstance(mod.DESCRIPTION, str) and "\n" not in mod.DESCRIPTION
    rc = mod.main(["--out", str(tmp_path), *argv])
    summary = json.loads((tmp_path / "summary.json").read_text())
    return rc, summary


# ------------------------------------------------------------------ quadratic
def test_quadratic_default_minimum(tmp_path, capsys):
    rc, s = run("quadratic", tmp_path, "--small")
    assert rc == 0 and s["ok"]
    ad_, cf = s["adgraph"], s["closed_form"]
    # f = x^2 - xy + y^2 - x - y + 1/2: H = [[2, -1], [-1, 2]], eigenvalues 1 and 3,
    # stationary point (1, 1), f* = -1/2, a minimum.
    np.testing.assert_allclose(ad_["hessian"], [[2, -1], [-1, 2]], atol=1e-12)
    np.testing.assert_allclose(ad_["eigenvalues"], [1, 3], atol=1e-12)
    np.testing.assert_allclose(ad_["newton"], [1, 1], atol=1e-12)
    assert ad_["f_newton"] == pytest.approx(-0.5, abs=1e-12)
    assert ad_["kind"] == cf["kind"] == "minimum"
    np.testing.assert_allclose(ad_["grad"], [4, -5], atol=1e-12)  # at (2, -1)
    # The trace: inputs' adjoints are the gradient, the output's tangent is df/dx.
    inputs = [r for r in s["trace"] if r["op"] == "input"]
    assert [r["adjoint"] for r in inputs] == pytest.approx([4, -5])
    assert next(r for r in s["trace"] if r["output"])["tangent"] == pytest.approx(4)
    out = capsys.readouterr().out
    assert "Forward primal trace" in out and "Reverse adjoint trace" in out
    assert (tmp_path / "quadratic_graph.dot").exists()
    if HAS_MPL:
        assert (tmp_path / "quadratic_contour.png").stat().st_size > 0
        assert (tmp_path / "quadratic_graph.png").stat().st_size > 0


@pytest.mark.parametrize(
    "coef, kind",
    [
        ((2, 3, -1, 0, 1.5, 0), "saddle"),
        ((-1, 0.5, -2, 1, -1, 3), "maximum"),
        ((1, 2, 1, 1, 1, 0), "degenerate"),
    ],
)
def test_quadratic_classification_against_closed_form(tmp_path, coef, kind):
    rc, s = run(
        "quadratic",
        tmp_path,
        "--small",
        "--no-plot",
        "--coef",
        *map(str, coef),
        "--at",
        "0.5",
        "-0.25",
    )
    assert rc == 0 and s["ok"]
    a, b, c, d, e, g = coef
    assert s["adgraph"]["kind"] == kind
    lam = sorted([(a + c) - np.hypot(a - c, b), (a + c) + np.hypot(a - c, b)])
    np.testing.assert_allclose(s["adgraph"]["eigenvalues"], lam, atol=1e-12)
    if kind == "degenerate":
        assert s["adgraph"]["newton"] is None
    else:
        det = 4 * a * c - b * b
        star = [(b * e - 2 * c * d) / det, (b * d - 2 * a * e) / det]
        np.testing.assert_allclose(s["adgraph"]["newton"], star, rtol=1e-12, atol=1e-12)
        assert np.linalg.norm(s["adgraph"]["grad_at_newton"]) < 1e-12


# ------------------------------------------------------------------ logistic
@pytest.mark.skipif(not (HAS_SCIPY and HAS_SKLEARN), reason="needs scipy and scikit-learn")
@pytest.mark.parametrize("extra", [(), ("--features", "5", "--l2", "0.01", "--no-plot")])
def test_logistic_matches_scikit_learn(tmp_path, extra):
    rc, s = run("logistic", tmp_path, "--small", *extra)
    assert rc == 0 and s["ok"]
    fits = s["fits"]
    assert set(fits) == {"gradient descent", "Newton", "L-BFGS (SciPy)", "scikit-learn"}
    ref = fits["scikit-learn"]
    for name, r in fits.items():
        assert r["loss"] <= ref["loss"] + 1e-6, name
        assert r["train_acc"] == ref["train_acc"] and r["test_acc"] == ref["test_acc"], name
    # Gradient descent ran to its gradient tolerance; Newton converges in a handful of steps.
    assert fits["gradient descent"]["grad_norm"] <= 1e-8
    assert fits["Newton"]["steps"] <= 12
    # The learned normal points the way of the true one (noise on the logits shrinks it; 400
    # samples leave a few degrees of error, more in 5-D with a penalty).
    assert fits["Newton"]["angle"] < 25
    assert s["loss_true"] > ref["loss"]
    if not extra and HAS_MPL:
        assert (tmp_path / "logistic.png").stat().st_size > 0


# ------------------------------------------------------------------ forward gradient
def test_forward_gradient_small(tmp_path, capsys):
    # A generous time budget so that the results do not depend on the machine's speed: every
    # method stops as soon as it reaches all three targets. D = 61 > --fd-max-dim exercises
    # the timed-and-predicted finite differences.
    rc, s = run(
        "forward-gradient",
        tmp_path,
        "--small",
        "--budget",
        "60",
        "--fd-max-dim",
        "20",
        "--variance-samples",
        "1500",
    )
    assert rc == 0
    # 1. Test functions: every path, GD's and the forward-gradient ones, falls far below the
    # starting value (Beale 45.6 at (-1, -1.2), Rosenbrock 24.2 at (-1.2, 1)).
    f0 = {"Beale": 45.6, "Rosenbrock": 24.2}
    for name, r in s["test_functions"].items():
        for run_name, v in r["rows"].items():
            assert v["final"] < 0.1 * f0[name], (name, run_name)
    # 2. Variance law: within 4.5 standard errors for every k.
    for v in s["variance_law"]:
        assert v["law"] == pytest.approx(1 + (v["D"] + 1) / v["k"])
        assert abs(v["estimate"] - v["law"]) < 4.5 * v["stderr"], v
    # 3. Hyperplane search.
    for D, b in s["hyperplane"].items():
        D = int(D)
        runs = b["runs"]
        gd = runs["GD (reverse)"]
        for name, r in runs.items():
            if r.get("timed_coords"):
                assert D > 20 and name == "central FD"
                # Same step as gradient descent: the prediction is its step count.
                for t in ("0.01", "0.001", "0.0001"):
                    assert r["predicted"][t]["iters"] == gd["reached"][t]["iters"]
                    assert r["predicted"][t]["passes"] == gd["reached"][t]["iters"] * (2 * D + 1)
                continue
            # Every method reaches all targets, its loss falling on the whole.
            assert all(r["reached"][t] is not None for t in ("0.01", "0.001", "0.0001")), name
            assert r["final_gap"] <= 1e-4 < r["first_gap"]
            assert r["gaps_nonincreasing_fraction"] > 0.5
            if name.startswith("FG"):
                k = int(name.split("=")[1].split()[0])
                assert r["passes_per_step"] == 1 + k
                # The step-size rule predicts the steps to within a factor of 2.
                m, p = r["reached"]["0.0001"]["iters"], r["predicted"]["0.0001"]["iters"]
                assert 0.5 * p <= m <= 2 * p, (name, m, p)
            assert r["test_acc"] > 0.6
        fg1 = runs["FG k=1"]["reached"]["0.0001"]["iters"]
        assert fg1 > gd["reached"]["0.0001"]["iters"]  # one noisy tangent is slower
    # 4. Memory: reverse mode grows with depth, the forward-gradient step does not.
    (d1, d8) = s["memory_depth"]
    assert d8["reverse"] > 2 * d1["reverse"]
    assert d8["forward_gradient"] < 2 * d1["forward_gradient"]
    out = capsys.readouterr().out
    assert "What the numbers show" in out and "variance law" in out
    if HAS_MPL:
        for f in ("fg_test_functions.png", "fg_hyperplane.png"):
            assert (tmp_path / f).stat().st_size > 0


# ------------------------------------------------------------------ optional extras missing
def test_without_matplotlib_one_message_and_no_figures(tmp_path, monkeypatch, capsys):
    import sys

    from adgraph.examples import _common

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setattr(_common, "_PLOT_WARNED", False)
    rc, s = run("quadratic", tmp_path, "--small")
    assert rc == 0 and s["ok"]
    out = capsys.readouterr().out
    assert out.count("pip install adgraph[plot]") == 1
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.skipif(not HAS_SCIPY, reason="needs scipy")
def test_logistic_without_scikit_learn_uses_newton_as_reference(tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
    rc, s = run("logistic", tmp_path, "--small", "--no-plot")
    assert rc == 0 and s["ok"] and s["reference"] == "Newton"
    assert "scikit-learn" not in s["fits"]
    assert "pip install adgraph[sklearn]" in capsys.readouterr().out


# ------------------------------------------------------------------ shared helpers
def test_examples_are_registered():
    for name in ("quadratic", "logistic", "forward-gradient"):
        assert name in EXAMPLES
        mod = load(name)
        assert callable(mod.main)


def test_common_helpers(tmp_path, capsys, monkeypatch):
    from adgraph.examples import _common

    monkeypatch.setattr(_common, "_QUIET", False)  # an earlier --quiet run must not leak
    assert output_dir(tmp_path / "a" / "b", "x").is_dir()
    text = print_table(
        [("GD", 3, 0.000123), ("Newton", None, 2.5)],
        ("m", "steps", "loss"),
        title="T",
        formats={2: ".2f"},
    )
    lines = text.splitlines()
    assert lines[0] == "T" and lines[1].split() == ["m", "steps", "loss"]
    assert lines[3].split() == ["GD", "3", "0.00"] and lines[4].split() == ["Newton", "-", "2.50"]
    assert format_value(1.5e-7) == "1.50000e-07" and format_value(float("nan")) == "-"
    # Progress goes to stderr (a line per tenth when it is not a terminal), never stdout.
    capsys.readouterr()
    with Progress(10, "loop") as bar:
        for _ in range(10):
            bar.update()
    got = capsys.readouterr()
    assert "loop" not in got.out
    assert got.err.count("loop ") == 10 and got.err.rstrip().endswith("loop 10/10")


# ------------------------------------------------------------------ bad options, edge data
def test_example_parser_is_one_line_and_unabbreviated(capsys):
    mod = load("quadratic")
    for argv, msg in (
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--a", "1", "2"], "unrecognized arguments: --a 1 2"),  # not read as --at
        (["--coef", "1e300", "0", "1", "0", "0", "0"], "a = 1e+300 is too large"),
        (["--coef", "nan", "0", "1", "0", "0", "0"], "a = nan is not a finite number"),
        (["--at", "0", "-inf"], "y = -inf is not a finite number"),
    ):
        with pytest.raises(SystemExit) as exc:
            mod.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and msg in err, err


@pytest.mark.parametrize(
    "coef, at",
    [
        # Coefficients and points of very different sizes: each difference is judged against
        # its own round-off bound, not one absolute tolerance.
        ((-1129819821.96, -530.77, 2568481358.06, -3152.43, 337.27, 115551.31), (-2.17e9, 956.28)),
        ((1e75, -1e75, 1e75, -1e75, -1e75, 1e75), (1e75, -1e75)),  # the largest accepted
        ((1e-75, 0, 1e-75, 0, 0, 0), (1e75, -1e75)),
        ((2, 1, -1, 1e75, 1, 0), (1, -1)),
    ],
)
def test_quadratic_extreme_magnitudes_agree(tmp_path, capsys, coef, at):
    rc, s = run(
        "quadratic",
        tmp_path,
        "--small",
        "--no-plot",
        "--coef",
        *map(repr, map(float, coef)),
        "--at",
        *map(repr, map(float, at)),
    )
    assert rc == 0 and s["ok"], capsys.readouterr().out[-1500:]
    assert np.isfinite(s["max_abs_difference"])


def test_quadratic_tolerances_scale_with_the_terms():
    q = load("quadratic")
    coef, at = (1.0, -1.0, 1.0, -1.0, -1.0, 0.5), (2.0, -1.0)
    tol = q.tolerances(coef, at, q.closed_form(coef, at))
    eps = np.finfo(float).eps
    # |a| x^2 + |b x y| + |c| y^2 + |d x| + |e y| + |g| = 4 + 2 + 1 + 2 + 1 + 0.5
    assert tol["f"] == pytest.approx(16 * eps * 10.5)
    assert tol["grad"] == pytest.approx(16 * eps * 6)  # max(2|a x| + |b y| + |d|, ...)
    assert set(tol) >= {"newton", "f_newton", "grad_at_newton"}
    degenerate = (1.0, 2.0, 1.0, 1.0, 1.0, 0.0)
    assert "newton" not in q.tolerances(degenerate, at, q.closed_form(degenerate, at))


@pytest.mark.skipif(not (HAS_SCIPY and HAS_SKLEARN), reason="needs scipy and scikit-learn")
@pytest.mark.parametrize(
    "extra",
    [
        ("--labels", "threshold", "--noise", "0"),  # separable by construction
        ("--features", "200", "--samples", "300"),  # fewer samples than 2 d: separable
        ("--samples", "2", "--test-samples", "5"),
    ],
)
def test_logistic_separable_data_are_reported_not_fitted(tmp_path, capsys, monkeypatch, extra):
    from adgraph.examples import logistic

    fits = []  # no fit starts at all: no 50,000 steps of gradient descent towards infinity
    for name in ("fit_gd", "fit_newton", "fit_lbfgs", "fit_sklearn"):
        monkeypatch.setattr(logistic, name, lambda *a, _n=name, **k: fits.append(_n))
    rc, s = run("logistic", tmp_path, "--no-plot", *extra)
    assert fits == []
    out = capsys.readouterr().out
    assert rc == 0 and s["ok"] and s["separable"] and s["fits"] == {}
    assert "The training data are linearly separable" in out and "--l2" in out
    assert "gradient descent" not in out.split("linearly separable")[0]
    sep = s["separation"]
    assert sep["train_acc"] == 1.0  # the certificate: every training sample on its side
    assert sep["loss"] < np.log(2)


@pytest.mark.skipif(not (HAS_SCIPY and HAS_SKLEARN), reason="needs scipy and scikit-learn")
def test_logistic_separable_data_with_a_penalty_are_fitted(tmp_path):
    rc, s = run(
        "logistic",
        tmp_path,
        "--small",
        "--no-plot",
        "--labels",
        "threshold",
        "--noise",
        "0",
        "--l2",
        "0.01",
    )
    assert rc == 0 and s["ok"] and not s["separable"]
    assert set(s["fits"]) == {"gradient descent", "Newton", "L-BFGS (SciPy)", "scikit-learn"}


def test_find_separation():
    from adgraph.datasets import make_classification

    lg = load("logistic")
    X, y, _, _ = make_classification(300, 2, noise=0.0, seed=1, labels="threshold")
    sep = lg.find_separation(X, y)
    assert sep is not None
    margins = (2 * y - 1) * (X @ sep["theta"][:-1] + sep["theta"][-1])
    assert np.all(margins > 0)
    X, y, _, _ = make_classification(300, 2, noise=1.0, seed=1)
    assert lg.find_separation(X, y) is None  # overlapping classes: a finite optimum


@pytest.mark.skipif(not (HAS_SCIPY and HAS_SKLEARN), reason="needs scipy and scikit-learn")
def test_logistic_gradient_descent_at_its_cap_is_explained(tmp_path, capsys):
    # Nearly separable (not separable) data: the optimum is finite but far out and ill
    # conditioned. Gradient descent stops at --max-steps; that is explained, not a failure.
    rc, s = run(
        "logistic",
        tmp_path,
        "--small",
        "--no-plot",
        "--labels",
        "threshold",
        "--noise",
        "0.1",
        "--seed",
        "0",
        "--max-steps",
        "300",
    )
    out = capsys.readouterr().out
    assert not s["separable"]
    assert rc == 0 and s["ok"] and s["gd_stopped_at_max_steps"]
    assert s["gd_condition_number"] > 1e3
    assert "stopped at its cap of 300 steps" in out and "Not counted as a failure" in out
    assert s["checks"]["gradient descent"]["reached_gtol"] is False


def test_forward_gradient_hyperplane_panels_have_titles(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fg = load("forward-gradient")
    figures = []
    monkeypatch.setattr(fg, "save_figure", lambda fig, *a: figures.append(fig))
    run = {
        "gaps": np.array([1.0, 1e-2, 1e-5]),
        "passes_per_step": 1,
        "times": np.array([0.0, 0.1, 0.2]),
        "predicted": dict.fromkeys(fg.TARGETS),
        "reached": dict.fromkeys(fg.TARGETS),
    }
    fg.draw_hyperplane(Figure, tmp_path, {11: {"runs": {"GD (reverse)": run}}})
    (fig,) = figures
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "logistic regression, D = 11 parameters: loss gap per pass over the data",
        "logistic regression, D = 11 parameters: loss gap against wall time",
    ]
