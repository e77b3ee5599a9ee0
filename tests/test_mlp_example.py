"""The ``mlp`` example: digits to >= 97% test accuracy on CPU, the synthetic timing mode,
outputs (summary.json, loss curve), and a clear error for --device gpu without CuPy."""

from __future__ import annotations

import json

import pytest

from adgraph.examples import load

pytest.importorskip("sklearn")


def _summary(out):
    return json.loads((out / "summary.json").read_text())


def test_module_contract():
    mod = load("mlp")
    assert isinstance(mod.DESCRIPTION, str) and mod.DESCRIPTION
    assert callable(mod.main)


def test_digits_reaches_97_percent(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    mod = load("mlp")
    figures = []
    save = mod.save_figure
    monkeypatch.setattr(mod, "save_figure", lambda fig, *a: figures.append(fig) or save(fig, *a))
    assert mod.main(["--out", str(tmp_path)]) == 0
    s = _summary(tmp_path)
    assert s["test_accuracy"] >= 0.97
    # the figure shows the headline number: the test accuracy per epoch beside the loss
    assert len(s["test_accuracy_by_epoch"]) == 40
    assert s["test_accuracy_by_epoch"][-1] == s["test_accuracy"]
    (fig,) = figures
    loss_ax, acc_ax = fig.axes
    assert acc_ax.get_ylabel() == "test accuracy (%)"
    assert list(acc_ax.lines[0].get_ydata()) == [100 * a for a in s["test_accuracy_by_epoch"]]
    assert f"test accuracy {s['test_accuracy']:.1%}" in loss_ax.get_title()
    assert s["dtype"] == "float32" and s["array_module"] == "numpy"
    assert len(s["train_loss"]) == s["epochs"] == 40
    assert s["train_loss"][-1] < s["train_loss"][0] / 100
    assert (tmp_path / "loss_curve.png").stat().st_size > 1000
    text = capsys.readouterr().out
    assert "test accuracy" in text and "\r" not in text  # no progress bar when not a terminal


def test_synthetic_mode_tiny(tmp_path):
    mod = load("mlp")
    argv = ["--synthetic", "--steps", "3", "--batch-size", "64", "--hidden", "32,32"]
    assert mod.main([*argv, "--no-plot", "--out", str(tmp_path)]) == 0
    s = _summary(tmp_path)
    assert s["mode"] == "synthetic" and s["sizes"] == [784, 32, 32, 10]
    assert len(s["train_loss"]) == 3 and s["ms_per_step_median"] > 0
    assert not (tmp_path / "loss_curve.png").exists()


def test_gpu_without_cupy_says_what_to_install(tmp_path):
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy is installed; the GPU run is tested in tests/gpu/")
    except ImportError:
        pass
    mod = load("mlp")
    with pytest.raises(ImportError, match="adgraph\\[gpu\\]"):
        mod.main(["--device", "gpu", "--epochs", "1", "--no-plot", "--out", str(tmp_path)])


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--hidden", "32,,x"], "--hidden must be positive integer widths"),
        (["--hidden", "0"], "--hidden must be positive integer widths"),
        (["--activation", "bogus"], "unknown activation 'bogus'"),
        (["--lr", "-1"], "--lr must be a finite number > 0, got -1"),
        (["--weight-decay", "nan"], "--weight-decay must be a finite number >= 0"),
        (["--seed", "-1"], "--seed must be an integer from 0 to 2**32 - 1"),
        (["--epoch", "3"], "unrecognized arguments: --epoch 3"),  # no abbreviations
    ],
)
def test_bad_options_are_one_line(tmp_path, capsys, argv, msg):
    mod = load("mlp")
    with pytest.raises(SystemExit) as exc:
        mod.main([*argv, "--no-plot", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and msg in err, err
    assert not (tmp_path / "summary.json").exists()
