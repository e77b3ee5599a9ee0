"""The taylor-ode example: the Taylor integrator's coefficients, its accuracy on a periodic
orbit, the comparison with DOP853, and the Laplacian of an MLP."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import adgraph as ad
from adgraph.examples import EXAMPLES, taylor_ode


def test_coefficients_of_a_known_solution():
    # y' = y^2, y(0) = y0: y(t) = y0 / (1 - y0 t), Taylor coefficients y0^(k+1)
    y0 = np.array([0.5, -0.3])
    c = taylor_ode.taylor_coefficients(lambda y: y * y, 8)(y0)
    for k, ck in enumerate(c, 1):
        np.testing.assert_allclose(ck, y0 ** (k + 1), rtol=1e-13)


def test_kepler_coefficients_against_the_circular_orbit():
    # e = 0: q(t) = (cos t, sin t), p = (-sin t, cos t): c_k of cos/sin at 0
    y0 = taylor_ode.initial_state(0.0)
    c = ad.jit(taylor_ode.taylor_coefficients(taylor_ode.kepler, 10))(y0)
    for k, ck in enumerate(c, 1):
        cos_k = math.cos(k * math.pi / 2) / math.factorial(k)  # d^k cos(t)/dt^k at 0, / k!
        sin_k = math.sin(k * math.pi / 2) / math.factorial(k)
        np.testing.assert_allclose(ck, [cos_k, sin_k, -sin_k, cos_k], atol=1e-15)


def test_one_period_returns_to_the_start():
    y0 = taylor_ode.initial_state(0.5)
    coeffs = ad.jit(taylor_ode.taylor_coefficients(taylor_ode.kepler, 16))
    y, steps, ts, ys = taylor_ode.taylor_integrate(coeffs, y0, 2 * math.pi, 16, tol=1e-13)
    assert np.max(np.abs(y - y0)) < 1e-10
    assert ts[-1] == pytest.approx(2 * math.pi, abs=1e-15) and 10 < steps < 200
    # energy is conserved along the way
    energy = 0.5 * np.sum(ys[:, 2:] ** 2, axis=1) - 1 / np.linalg.norm(ys[:, :2], axis=1)
    assert np.ptp(energy) < 1e-11


def test_laplacian_by_jet_equals_trace_of_hessian():
    r = taylor_ode.laplacian_compare(d=5, width=8, repeat=1)
    assert r["relative_difference"] < 1e-12


def test_main_runs_and_refuses_bad_options(tmp_path, capsys):
    pytest.importorskip("scipy")
    assert EXAMPLES["taylor-ode"] == "adgraph.examples.taylor_ode"
    argv = ["--order", "12", "--periods", "1", "--dim", "4", "--no-plot", "--quiet"]
    assert taylor_ode.main(argv + ["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "DOP853" in out and "Laplacian" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    best = summary["taylor"][-1]
    assert best["error"] < 1e-9 and best["steps"] > 0
    assert summary["laplacian"]["relative_difference"] < 1e-12
    for bad in (["--order", "1"], ["--e", "0.99"], ["--periods", "0"]):
        with pytest.raises(SystemExit) as e:
            taylor_ode.main(bad + ["--no-plot", "--quiet", "--out", str(tmp_path)])
        assert e.value.code == 2
