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


def test_phase_map_has_a_two_colour_legend():
    pytest.importorskip("matplotlib")
    import types

    import numpy as np
    from matplotlib.figure import Figure

    from adgraph.examples.homogenization.plotting import PHASE_COLOURS, plot_stress_slices

    mask = np.zeros((8, 8), dtype=bool)
    mask[2:5, 3:6] = True
    stress = np.random.default_rng(0).normal(size=(2, 2, 8, 8))
    result = types.SimpleNamespace(
        stress=stress, finite_strain=False, von_mises=lambda: np.abs(stress[0, 0])
    )
    fig = plot_stress_slices(Figure, result, mask)
    phases = fig.axes[0]
    assert phases.get_title() == "phases"
    legend = phases.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["matrix", "inclusion"]
    image = phases.images[0]
    # exactly the two colours, matrix for False and inclusion for True; no colour bar
    assert image.cmap.N == 2 and image.get_clim() == (0, 1)
    # four panels (phases, sigma_11, sigma_12, von Mises): colour bars for the three stresses
    assert [ax.get_label() for ax in fig.axes].count("<colorbar>") == 3 == len(fig.axes) - 4
    assert PHASE_COLOURS[1][0] == "inclusion"
