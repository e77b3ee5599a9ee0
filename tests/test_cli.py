"""The ``adgraph`` command, through its entry point (and once as ``python -m adgraph``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
import unicodedata

import pytest

from adgraph import cli
from adgraph.cli import main

ARTICLE = ["diff", "x1*x2 + x2 - log(x1)", "--at", "x1=2", "x2=4"]


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, unicodedata.normalize("NFC", out), err


def squash(s):
    return re.sub(r" +", " ", s)


# ------------------------------------------------------------------ diff
def test_diff_article(capsys):
    rc, out, err = run(capsys, *ARTICLE)
    assert rc == 0 and err == ""
    assert "f(x1, x2) = x1*x2 + x2 - log(x1)" in out
    assert "value     f = 11.3068528194" in out
    assert "df/dx1 = 3.5" in out and "df/dx2 = 3" in out
    flat = squash(out)
    for line in [
        "| v_-1 = x_1 | 2 |",
        "| v_0 = x_2 | 4 |",
        "| v_1 = v_-1 v_0 | 2(4) = 8 |",
        "| v_2 = ln(v_-1) | ln(2) = 0.693 |",
        "| v_3 = v_1 + v_0 | 8 + 4 = 12 |",
        "| v_4 = v_3 - v_2 | 12 - 0.693 = 11.307 |",
        "| y = v_4 | 11.307 |",
        "| Forward tangent trace (dx1 = 1, dx2 = 0) | Output |",
        "| v̇_4 = v̇_3 - v̇_2 | 4 - 0.5 = 3.5 |",
        "| v̄_-1 = v̄_2/v_-1 + v̄_1 v_0 | -1(0.5) + 1(4) = 3.5 |",
        "| x̄_2 = v̄_0 | 3 |",
    ]:
        assert unicodedata.normalize("NFC", line) in flat, line
    # the three tables, in order
    assert (
        out.index("Forward primal trace")
        < out.index("Forward tangent")
        < out.index("Reverse adjoint trace")
    )


def test_diff_hessian_and_its_trace(capsys):
    rc, out, _ = run(capsys, *ARTICLE, "--hessian")
    assert rc == 0
    assert "Hessian (forward-over-reverse)" in out
    h = out[out.index("Hessian (forward") :].splitlines()
    assert h[2].split() == ["x1", "0.25", "1"] and h[3].split() == ["x2", "1", "0"]
    assert "Forward-over-reverse trace of H v, v = (1, 0)" in out


def test_diff_modes(capsys):
    rc, out, _ = run(capsys, *ARTICLE, "--mode", "forward")
    assert rc == 0
    assert "forward mode: 2 tangent pass(es)" in out
    assert out.count("Forward tangent trace") == 2 and "Reverse adjoint" not in out
    assert "(dx1 = 0, dx2 = 1)" in out
    rc, out, _ = run(capsys, *ARTICLE, "--mode", "reverse")
    assert "Forward tangent" not in out and "Reverse adjoint trace" in out
    rc, out, _ = run(capsys, *ARTICLE, "--seed", "x1=0", "x2=2")
    assert "(dx1 = 0, dx2 = 2)" in out
    assert unicodedata.normalize("NFC", "| ẏ = v̇_4 | 6 |") in squash(out)


def test_diff_formats(capsys):
    rc, out, _ = run(capsys, *ARTICLE, "--format", "json", "--hessian")
    d = json.loads(out)
    assert d["value"] == pytest.approx(11.306852819440055)
    assert d["gradient"] == {"x1": 3.5, "x2": 3.0}
    assert d["hessian"] == [[0.25, 1.0], [1.0, 0.0]]
    assert [t["kind"] for t in d["traces"]] == ["primal", "tangent", "adjoint"]
    assert d["traces"][0]["rows"][4]["value"] == "8 + 4 = 12"
    ops = [n["op"] for n in d["graph"]["nodes"]]
    assert ops == ["input", "input", "multiply", "log", "add", "subtract"]
    assert d["graph"]["nodes"][5]["inputs"] == ["v3", "v2"]
    rc, out, _ = run(capsys, *ARTICLE, "--format", "markdown")
    assert "| $v_{1} = v_{-1} v_{0}$ | $2(4) = 8$ |" in out
    rc, out, _ = run(capsys, *ARTICLE, "--format", "latex")
    assert r"\begin{array}{|l|l|}" in out and r"\nabla f = (3.5, 3)" in out


def test_diff_graph_files(capsys, tmp_path):
    dot = tmp_path / "g.dot"
    rc, out, _ = run(capsys, *ARTICLE, "--graph", str(dot))
    assert rc == 0 and f"graph written to {dot}" in out
    text = dot.read_text()
    assert len(re.findall(r"^\s*\w+ -> \w+", text, re.M)) == 8
    mmd = tmp_path / "g.mmd"
    assert main([*ARTICLE, "--graph", str(mmd)]) == 0
    assert mmd.read_text().startswith("flowchart LR")
    capsys.readouterr()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_diff_graph_svg(capsys, tmp_path):
    svg = tmp_path / "g.svg"
    assert main([*ARTICLE, "--graph", str(svg)]) == 0
    assert "<svg" in svg.read_text()[:1000]
    capsys.readouterr()


def test_diff_graph_without_graphviz(capsys, tmp_path, monkeypatch):
    import adgraph.graph.render as render

    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    rc, out, err = run(capsys, *ARTICLE, "--graph", str(tmp_path / "g.png"))
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "apt-get install graphviz" in err and ".dot or .mmd" in err


def test_expression_with_leading_minus_and_constants(capsys):
    rc, out, _ = run(capsys, "diff", "-x**2 + pi", "--at", "x=3")
    assert rc == 0 and "df/dx = -6" in out
    rc, out, _ = run(
        capsys, "diff", "sin(x)*exp(y)/sqrt(x)", "--at", "y=0.5", "x=1.5", "--format", "json"
    )
    d = json.loads(out)
    assert d["variables"] == ["y", "x"]  # --at order numbers the inputs


# ------------------------------------------------------------------ compare
def test_compare(capsys):
    rc, out, _ = run(capsys, "compare", "x1*x2 + x2 - log(x1)", "--at", "x1=2", "x2=4")
    assert rc == 0
    assert "Three ways to differentiate f(x1, x2) = x1*x2 + x2 - log(x1)" in out
    assert "x2 - 1/x1, x1 + 1" in out
    rc, out, _ = run(
        capsys, "compare", "tanh(w*1.5 + 0.1)", "--at", "w=0.5", "--format", "json", "--no-sympy"
    )
    d = json.loads(out)
    assert d["sympy"]["status"] == "skipped" and len(d["fd"]) == 12
    rc, out, _ = run(capsys, "compare", "x**3", "--at", "x=2", "--format", "markdown")
    assert "| AD (reverse) | [12] |" in out


# ------------------------------------------------------------------ refusals
HOSTILE = [
    "__import__('os').system('x')",
    "().__class__",
    "x" * 1_000_000,
    "x**",
    "x.y",
    "x[0]",
    "lambda: 1",
    "exp(x, y)",
    "__builtins__",
    "(" * 500 + "x" + ")" * 500,
    "-" * 300 + "x",
    "x" + "**x" * 300,
    "open('f')",
    "x(1)",
    "exp(x=1)",
    "x; y",
    "'x'",
    "",
    "2x",
    "x ^ 2",
    "x if x else 1",
    "[x for x in y]",
    "{}",
    "x @ x",
    "\x00",
]


@pytest.mark.parametrize("expr", HOSTILE, ids=lambda e: repr(e[:24]))
@pytest.mark.parametrize("command", ["diff", "compare"])
def test_hostile_expressions_exit_2_with_one_line(capsys, command, expr):
    rc, out, err = run(capsys, command, expr, "--at", "x=1")
    assert rc == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and len(err) < 600


BAD_AT = [
    (["x+y", "--at", "x=1"], "no value for y"),
    (["x", "--at", "x=1", "y=2"], "y does not appear"),
    (["x", "--at", "x=abc"], "is not a number"),
    (["x", "--at", "x=nan"], "not a finite number"),
    (["x", "--at", "x"], "expected NAME=VALUE"),
    (["x", "--at", "x=1", "x=2"], "given twice"),
    (["x", "--at", "__class__=1"], "not a variable name"),
    (["x"], "required: --at"),
    (["x", "--at"], "expected at least one argument"),
    (["pi", "--at", "pi=3"], "constant"),
    (["2 + 3", "--at", "x=1"], "no variables"),
    (["x", "--at", "x=1", "--mode", "sideways"], "invalid choice"),
    (["x", "--at", "x=1", "--graph", "g.jpg"], "unknown picture format"),
    (["x", "--at", "x=1", "--seed", "z=1"], "not a variable"),
    (["x", "--at", "x=1", "--bogus"], "unrecognized arguments"),
]


@pytest.mark.parametrize("argv,msg", BAD_AT, ids=[m for _, m in BAD_AT])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, msg):
    rc, out, err = run(capsys, "diff", *argv)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert msg in err


def test_help_on_every_subcommand(capsys):
    for argv in (
        ["--help"],
        ["diff", "--help"],
        ["compare", "--help"],
        ["examples", "--help"],
        ["examples", "run", "--help"],
        ["examples", "list", "--help"],
    ):
        rc, out, _ = run(capsys, *argv)
        assert rc == 0 and "usage:" in out, argv
    rc, out, _ = run(capsys)
    assert rc == 0 and "diff" in out and "compare" in out
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.startswith("adgraph ")


# ------------------------------------------------------------------ examples
@pytest.fixture
def fake_examples(monkeypatch):
    import adgraph.examples as ex

    mod = types.ModuleType("adgraph_fake_example")
    mod.DESCRIPTION = "a fake example for the tests"
    calls = []

    def fake_main(argv=None):
        calls.append(argv)
        return 3

    mod.main = fake_main
    monkeypatch.setitem(sys.modules, "adgraph_fake_example", mod)
    monkeypatch.setattr(
        ex,
        "EXAMPLES",
        {"fake": "adgraph_fake_example", "ghost": "adgraph.examples.no_such_example"},
    )
    return calls


def test_examples_list_and_run(capsys, fake_examples):
    rc, out, _ = run(capsys, "examples")
    assert rc == 0
    assert "fake   a fake example for the tests" in out
    assert "ghost  (not available in this installation yet)" in out
    rc, out, _ = run(capsys, "examples", "list")
    assert "fake" in out
    rc, _, _ = run(capsys, "examples", "run", "fake", "--steps", "3", "-v")
    assert rc == 3 and fake_examples == [["--steps", "3", "-v"]]


def test_examples_missing_or_unknown(capsys, fake_examples):
    rc, out, err = run(capsys, "examples", "run", "ghost")
    assert rc == 2 and "not available in this installation yet" in err
    assert len(err.strip().splitlines()) == 1
    rc, out, err = run(capsys, "examples", "run", "nope")
    assert rc == 2 and "unknown example 'nope'" in err and "fake" in err


def test_real_registry_is_listed(capsys):
    from adgraph.examples import EXAMPLES

    rc, out, _ = run(capsys, "examples")
    assert rc == 0
    for name in EXAMPLES:
        assert name in out


# ------------------------------------------------------------------ python -m adgraph
def test_python_dash_m(tmp_path):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    p = subprocess.run(
        [sys.executable, "-m", "adgraph", *ARTICLE],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert "| v_4  = v_3 - v_2     | 12 - 0.693 = 11.307 |" in p.stdout
    p = subprocess.run(
        [sys.executable, "-m", "adgraph", "diff", "x.__class__", "--at", "x=1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "Traceback" not in p.stderr


def test_internal_errors_are_one_line(capsys, monkeypatch):
    def boom(args, out):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(cli, "_cmd_diff", boom)
    monkeypatch.delenv("ADGRAPH_DEBUG", raising=False)
    rc, out, err = run(capsys, *ARTICLE)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "something broke" in err
