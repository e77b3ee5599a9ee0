"""Where the examples write and what they say while running: files in --out (or the
documented ./adgraph-out/NAME), progress lines on stderr, --quiet silences them."""

from __future__ import annotations

import json

import pytest

from adgraph.cli import main
from adgraph.examples import _common


def run(capsys, *argv):
    rc = main(["examples", "run", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_files_land_in_out_and_progress_goes_to_stderr(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dest = tmp_path / "results"
    rc, out, err = run(capsys, "quadratic", "--out", str(dest), "--no-plot")
    assert rc == 0
    summary = json.loads((dest / "summary.json").read_text())
    assert summary  # the example's numbers, where --out said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # nothing in the cwd
    assert f"files go to {dest} (--out)" in err
    assert err.startswith("[quadratic")
    assert "files go to" not in out  # stdout keeps the results only


def test_default_folder_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(capsys, "quadratic", "--no-plot")
    assert rc == 0
    dest = tmp_path / "adgraph-out" / "quadratic"
    assert (dest / "summary.json").is_file()
    assert f"files go to {dest} (default ./adgraph-out/quadratic; change it with --out)" in err


def test_quiet_silences_progress(tmp_path, capsys):
    rc, out, err = run(capsys, "quadratic", "--out", str(tmp_path), "--no-plot", "--quiet")
    assert rc == 0 and err == ""
    assert out  # the tables are still printed
    assert (tmp_path / "summary.json").is_file()


def test_progress_counter_writes_a_line_per_tenth(capsys, monkeypatch):
    monkeypatch.setattr(_common, "_QUIET", False)
    monkeypatch.setattr(_common, "_stderr_is_tty", lambda: False)
    with _common.Progress(50, "training") as bar:
        for _ in range(50):
            bar.update()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 10
    assert err[0].endswith("training 1/50") and err[-1].endswith("training 46/50")
    monkeypatch.setattr(_common, "_QUIET", True)
    with _common.Progress(50, "training") as bar:
        for _ in range(50):
            bar.update()
    assert capsys.readouterr().err == ""


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "f.txt"
    f.write_text("x")
    rc, _, err = run(capsys, "quadratic", "--out", str(f), "--no-plot")
    assert rc == 2 and "is a file, not a folder" in err


@pytest.mark.parametrize("name", ["forward-gradient", "fft-homogenization", "mlp", "logistic"])
def test_every_long_example_has_quiet(name, capsys):
    assert main(["examples", "run", name, "--help"]) == 0
    assert "--quiet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "module, extra, package",
    [("sklearn.linear_model", "sklearn", "scikit-learn"), ("scipy.optimize", "scipy", "scipy")],
)
def test_missing_package_hint_names_what_pip_installs(monkeypatch, module, extra, package):
    import sys

    from adgraph.examples._common import require

    monkeypatch.setitem(sys.modules, module.split(".")[0], None)  # makes the import fail
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError) as info:
        require(module, extra, "the reference fit")
    msg = str(info.value)
    assert f"`pip install adgraph[{extra}]` (or `pip install {package}`)" in msg
    assert "pip install sklearn`" not in msg
