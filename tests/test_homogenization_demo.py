"""``adgraph examples run fft-homogenization`` on a small 2-D cell: it runs, its checks hold,
and it writes its summary and (with matplotlib) its figures."""

from __future__ import annotations

import json

import pytest

from adgraph.examples import load


def test_demo_runs_and_its_numbers_hold(tmp_path, capsys):
    demo = load("fft-homogenization")
    assert demo.DESCRIPTION
    args = ["--dim", "2", "--size", "24", "--steps", "2", "--out", str(tmp_path)]
    pytest.importorskip("matplotlib")
    assert demo.main(args) == 0
    out = capsys.readouterr().out
    assert "effective stiffness" in out and "d C11 / d mu_particle" in out
    s = json.loads((tmp_path / "summary.json").read_text())
    for stress_diff, tangent_diff in s["ad_vs_closed_form"].values():
        assert stress_diff < 1e-12 and tangent_diff < 1e-12
    assert s["dC11_dmu"]["ad"] == pytest.approx(s["dC11_dmu"]["fd"], rel=1e-5)
    c, cv, cr = s["effective_stiffness"], s["voigt_bound"], s["reuss_bound"]
    assert cr[0][0] < c[0][0] < cv[0][0]
    for r in s["j2"]["newton_residuals"]:
        assert r[-1] < 1e-10
    for name in ("stress_slices.png", "convergence.png", "stress_strain.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_demo_without_plots(tmp_path):
    demo = load("fft-homogenization")
    args = ["--dim", "2", "--size", "16", "--steps", "1", "--no-plot", "--out", str(tmp_path)]
    assert demo.main(args) == 0
    assert (tmp_path / "summary.json").exists()
    assert not (tmp_path / "convergence.png").exists()
