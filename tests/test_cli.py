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


def test_diff_hessian_graph_draws_the_second_order_sweep(capsys, tmp_path):
    first, second = tmp_path / "g1.dot", tmp_path / "g2.dot"
    assert main([*ARTICLE, "--graph", str(first)]) == 0
    rc, out, _ = run(capsys, *ARTICLE, "--hessian", "--graph", str(second))
    assert rc == 0 and f"graph of the second-order sweep (H v) written to {second}" in out
    text = second.read_text()
    assert text != first.read_text()
    # the nodes of the forward-over-reverse trace of H v, v = (1, 0), with their values:
    # 1/x1 = 0.5, its square 0.25, and the output H v's first entry 1/x1^2 = 0.25
    for label in ("v₁ = 1/v₋₁\\n0.5", "v₂ = v₁^2\\n0.25", "v₆ = v₅ + 0\\n0.25"):
        assert label in text, label
    assert "1/v₋₁" not in first.read_text()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_diff_graph_svg(capsys, tmp_path):
    svg = tmp_path / "g.svg"
    assert main([*ARTICLE, "--graph", str(svg)]) == 0
    assert "<svg" in svg.read_text()[:1000]
    capsys.readouterr()


def test_diff_graph_without_graphviz(capsys, tmp_path, monkeypatch):
    import adgraph.graph.render as render

    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    monkeypatch.setattr(render, "_matplotlib_available", lambda: False)
    rc, out, err = run(capsys, *ARTICLE, "--graph", str(tmp_path / "g.png"))
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "apt-get install graphviz" in err and ".dot or .mmd" in err
    assert "adgraph[plot]" in err


def test_diff_graph_without_graphviz_is_drawn_by_matplotlib(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import adgraph.graph.render as render

    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    png = tmp_path / "g.png"
    rc, out, _ = run(capsys, *ARTICLE, "--graph", str(png))
    assert rc == 0 and png.read_bytes().startswith(b"\x89PNG")


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


def test_example_needing_a_missing_extra_is_one_line(capsys, fake_examples, monkeypatch):
    import adgraph_fake_example

    def needs_extra(argv=None):
        raise ImportError("CuPy is not installed; pip install adgraph[gpu]")

    monkeypatch.setattr(adgraph_fake_example, "main", needs_extra)
    rc, out, err = run(capsys, "examples", "run", "fake")
    assert rc == 2 and out == ""
    assert err.strip() == (
        "adgraph examples: error: example 'fake': CuPy is not installed; pip install adgraph[gpu]"
    )


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


# ------------------------------------------------------------------ non-finite results
NON_FINITE = [
    # expression, point, value printed, derivative printed
    ("log(x)", "x=-1", "nan", "-1"),  # outside the domain: the value is nan, d log = 1/x
    ("1/x", "x=0", "inf", "-inf"),
    ("sqrt(x)", "x=0", "0", "inf"),
    ("exp(exp(exp(x)))", "x=10", "inf", "inf"),
    ("x**10**10**10", "x=2", "inf", "inf"),
]


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
@pytest.mark.parametrize("expr,at,value,deriv", NON_FINITE, ids=[e[0] for e in NON_FINITE])
def test_diff_prints_inf_and_nan(capsys, fmt, expr, at, value, deriv):
    # A valid evaluation whose numbers are inf or nan: printed as they are, exit status 0,
    # and one note on stderr naming what is not finite.
    rc, out, err = run(capsys, "diff", expr, "--at", at, "--hessian", "--format", fmt)
    assert rc == 0, err
    assert len(err.strip().splitlines()) == 1 and "note: not finite at this point" in err
    assert "Traceback" not in err and "Error" not in err
    if fmt == "json":
        doc = json.loads(out)
        assert str(doc["value"]) == value or doc["value"] == float(value)
        assert str(doc["gradient"]["x"]) == deriv or doc["gradient"]["x"] == float(deriv)
    elif fmt == "text":
        assert f"value     f = {value}\n" in out and f"df/dx = {deriv}\n" in out
    elif fmt == "markdown":
        assert f"- value: f = {value}\n" in out and f"df/dx = {deriv}\n" in out
    else:
        assert f"f = {value}, \\quad \\nabla f = ({deriv})" in out


def test_compare_notes_non_finite_results_the_same_way(capsys):
    rc, out, err = run(capsys, "compare", "1/x", "--at", "x=0", "--no-sympy")
    assert rc == 0 and "value f = inf" in out
    assert err.strip() == (
        "adgraph compare: note: not finite at this point: f = inf, df/dx = -inf (the point is "
        "outside the expression's domain, on a singularity, or the numbers overflow float64)"
    )
    rc, out, err = run(capsys, "compare", "x**2", "--at", "x=3", "--no-sympy")
    assert rc == 0 and err == ""


def test_finite_results_have_no_note(capsys):
    rc, _, err = run(capsys, *ARTICLE, "--hessian", "--format", "json")
    assert rc == 0 and err == ""


# ------------------------------------------------------------------ --graph paths
def test_graph_in_a_missing_folder_is_refused(capsys, tmp_path):
    missing = tmp_path / "no" / "such" / "g.dot"
    rc, out, err = run(capsys, "diff", "x", "--at", "x=1", "--graph", str(missing))
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "does not exist" in err
    assert "FileNotFoundError" not in err and not missing.parent.exists()
    rc, out, err = run(capsys, "diff", "x", "--at", "x=1", "--graph", "/nonexistent/dir/g.svg")
    assert rc == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_graph_write_failure_is_one_line(capsys, tmp_path, monkeypatch):
    from adgraph.graph import render

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(render, "save", refuse)
    rc, out, err = run(capsys, "diff", "x", "--at", "x=1", "--graph", str(tmp_path / "g.dot"))
    assert rc == 2 and "cannot write it (Permission denied)" in err
    assert len(err.strip().splitlines()) == 1


def test_render_save_names_a_missing_folder(tmp_path):
    from adgraph.graph import trace
    from adgraph.graph.render import save

    g = trace(lambda x: x * x, 2.0)
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        save(g, tmp_path / "missing" / "g.dot")
    (tmp_path / "folder.dot").mkdir()
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        save(g, tmp_path / "folder.dot")


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize(
    "text,value",
    [
        ("1_000", "1000"),
        ("-2.5", "-2.5"),
        (" 3 ", "3"),
        ("1e3", "1000"),
        (".5", "0.5"),
        ("+4.", "4"),
        ("1_0.2_5e0_1", "102.5"),
    ],
)
def test_at_accepts_decimal_literals(capsys, text, value):
    rc, out, err = run(capsys, "diff", "x", "--at", f"x={text}")
    assert rc == 0 and err == "" and f"at x = {value}\n" in out


@pytest.mark.parametrize(
    "text,msg",
    [
        ("0x10", "is hexadecimal: write it in decimal (16)"),
        ("0o17", "is octal: write it in decimal (15)"),
        ("0b11", "is binary: write it in decimal (3)"),
        ("1j", "is complex: only real numbers are accepted"),
        ("1+2j", "is complex"),
        ("1__0", "underscores go singly between digits"),
        ("_1", "underscores go singly between digits"),
        ("1e400", "too large for float64"),
        ("inf", "not a finite number"),
        ("-nan", "not a finite number"),
        ("٣", "ASCII digits"),
        ("", "is empty"),
        ("abc", "is not a number"),
    ],
)
def test_at_refuses_other_numbers_with_the_reason(capsys, text, msg):
    rc, out, err = run(capsys, "diff", "x", "--at", f"x={text}")
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and msg in err, err


@pytest.mark.parametrize(
    "expr,msg",
    [
        ("0x10*x", "number '0x10' at position 0 is hexadecimal: write it in decimal (16)"),
        ("1j*x", "is complex"),
        ("1__0*x", "underscores go singly"),
        ("1e999*x", "number '1e999' at position 0 is too large for float64"),
        ("2x", "write the product with *"),
    ],
)
def test_expression_numbers_follow_the_same_rule(capsys, expr, msg):
    rc, out, err = run(capsys, "diff", expr, "--at", "x=1")
    assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1
    rc, out, err = run(capsys, "diff", "1_000*x", "--at", "x=2")
    assert rc == 0 and "value     f = 2000\n" in out


def test_parse_number():
    from adgraph.expr import ExprError, parse_number

    assert parse_number("1_000") == 1000.0 and parse_number("-1e-3") == -0.001
    for bad in ("0x10", "1j", "inf", "1e999", "1,5", "1 000"):
        with pytest.raises(ExprError):
            parse_number(bad)


# ------------------------------------------------------------------ no abbreviations
def test_options_are_never_abbreviated(capsys):
    rc, out, err = run(capsys, "diff", "x", "--a", "x=1")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    rc, out, err = run(capsys, "diff", "x", "--at", "x=1", "--hess")
    assert rc == 2 and "unrecognized arguments: --hess" in err
    rc, out, err = run(capsys, "compare", "x", "--at", "x=1", "--no-sym")
    assert rc == 2 and "unrecognized arguments: --no-sym" in err


# ------------------------------------------------------------------ example options
@pytest.mark.parametrize(
    "argv,msg",
    [
        (["quadratic", "--bogus"], "unrecognized arguments: --bogus"),
        (["quadratic", "--a", "1", "2"], "unrecognized arguments: --a 1 2"),
        (["quadratic", "--grid", "x"], "invalid int value: 'x'"),
        (["quadratic", "--coef", "1e300", "0", "1", "0", "0", "0"], "a = 1e+300 is too large"),
        (["quadratic", "--coef", "nan", "0", "1", "0", "0", "0"], "a = nan is not a finite"),
        (["quadratic", "--at", "inf", "0"], "x = inf is not a finite number"),
        (["quadratic", "--grid", "1"], "--grid must be between 5 and 2001"),
        (["logistic", "--samples", "0"], "--samples must be at least 2, got 0"),
        (["logistic", "--features", "0"], "--features must be at least 1, got 0"),
        (["logistic", "--noise", "-1"], "--noise must be a finite number >= 0, got -1"),
        (["logistic", "--l2", "nan"], "--l2 must be a finite number >= 0, got nan"),
        (["logistic", "--gtol", "0"], "--gtol must be a finite number > 0, got 0"),
        (["logistic", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
        (["logistic", "--correlation", "1"], "--correlation must lie strictly between -1 and 1"),
        (["logistic", "--max-steps", "0"], "--max-steps must be at least 1"),
        (["logistic", "--test-samples", "0"], "--test-samples must be at least 1"),
        (["forward-gradient", "--dims", "0"], "--dims values must be at least 1, got 0"),
        (["forward-gradient", "--tangents", "0"], "--tangents values must be at least 1"),
        (["forward-gradient", "--variance-samples", "0"], "--variance-samples must be at least 2"),
        (["forward-gradient", "--signal", "nan"], "--signal must be a finite number > 0"),
        (["forward-gradient", "--seed", "-1"], "--seed must be at least 0, got -1"),
        (["mlp", "--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["mlp", "--hidden", "abc"], "--hidden must be positive integer widths"),
        (["mlp", "--activation", "bogus"], "unknown activation 'bogus'; use one of"),
        (["mlp", "--lr", "nan"], "--lr must be a finite number > 0, got nan"),
        (["mlp", "--seed", "-1"], "--seed must be an integer from 0 to 2**32 - 1"),
        (["dask-logreg", "--workers", "0"], "--workers must be at least 1, got 0"),
        (["dask-logreg", "--seed", "-1"], "--seed must be a non-negative integer, got -1"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_example_options_are_refused_in_one_line(capsys, tmp_path, argv, msg):
    rc, out, err = run(capsys, "examples", "run", *argv, "--out", str(tmp_path), "--no-plot")
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0], err
    assert lines[0].startswith(f"adgraph examples run {argv[0]}: error: ")
    assert "usage:" not in err and "Error:" not in err
    assert not (tmp_path / "summary.json").exists()


def test_example_help_shows_each_default_once(capsys):
    rc, out, err = run(capsys, "examples", "run", "quadratic", "--help")
    assert rc == 0 and "usage: adgraph examples run quadratic" in out
    flat = " ".join(out.split())
    assert "(default: ./adgraph-out/quadratic)" in flat
    assert "(default: None)" not in flat and "(default: False)" not in flat
    assert flat.count("adgraph-out/quadratic") == 1
    assert "(default: 61)" in flat  # --grid keeps its default


def test_example_negative_exponent_values_are_values(capsys, tmp_path):
    rc, out, err = run(
        capsys,
        "examples",
        "run",
        "quadratic",
        "--small",
        "--no-plot",
        "--out",
        str(tmp_path),
        "--at",
        "-1e1",
        "-2_0.5",
    )
    assert rc == 0, err
    assert "at (x0, y0) = (-10, -20.5)" in out
