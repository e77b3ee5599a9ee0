"""The Bratu example: Newton's method with adgraph's sparse Jacobian on a small grid."""

import json

import numpy as np
import pytest

import adgraph as ad

pytest.importorskip("scipy.sparse")

from adgraph.examples import EXAMPLES, bratu  # noqa: E402


def test_sparse_jacobian_equals_the_closed_form_and_jacfwd():
    n, lam = 9, 5.0
    F = bratu.residual_fn(n, lam)
    u = 0.2 * np.random.default_rng(0).standard_normal((n, n))
    jac = ad.sparse_jacobian(F)
    J = jac(u)
    ref = bratu.closed_form_jacobian(u, lam)
    assert abs(J - ref).max() <= 1e-12 * abs(ref).max()
    np.testing.assert_allclose(J.toarray(), np.asarray(ad.jacfwd(F)(u)).reshape(n * n, n * n))
    assert J.nnz == 5 * n * n - 4 * n  # the five-point stencil
    assert jac.colors <= 8


def test_newton_converges_quadratically_to_a_symmetric_solution():
    u, history, jac = bratu.newton(16, 6.0, tol=1e-11)
    res = [h[1] for h in history]
    assert res[-1] <= 6e-11
    # Quadratic convergence: each residual at most a constant times the square of the last.
    for a, b in zip(res[1:-2], res[2:-1]):
        assert b <= 10.0 * a * a + 1e-9
    np.testing.assert_allclose(u, u.T, atol=1e-12)  # the square's symmetries
    np.testing.assert_allclose(u, u[::-1], atol=1e-12)
    F = bratu.residual_fn(16, 6.0)
    assert np.max(np.abs(np.asarray(F(u)))) <= 6e-11
    # lambda = 0: u = 0 solves it at once.
    u0, hist0, _ = bratu.newton(5, 0.0)
    assert not u0.any() and len(hist0) == 1


def test_example_runs_from_the_registry(tmp_path, capsys):
    assert EXAMPLES["bratu"] == "adgraph.examples.bratu"
    assert bratu.main(["--n", "20", "--dense-n", "6", "--no-plot", "--quiet",
                       "--out", str(tmp_path)]) == 0  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["unknowns"] == 400 and summary["jacobian_error"] < 1e-9
    assert summary["dense_comparison"]["max_difference"] < 1e-9
    assert summary["dense_jacobian_bytes"] == 8 * 400**2
    assert (tmp_path / "bratu_pattern.svg").read_text().startswith("<svg")
    assert "Newton's method" in capsys.readouterr().out


def test_bad_options_are_refused(capsys):
    for argv in (["--lam", "7"], ["--n", "1"], ["--dense-n", "100"], ["--tol", "-1"]):
        with pytest.raises(SystemExit) as e:
            bratu.main(argv + ["--no-plot", "--quiet"])
        assert e.value.code == 2
    assert "--lam must be in" in capsys.readouterr().err
