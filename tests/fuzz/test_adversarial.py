"""Adversarial random programs against JAX (see tests/fuzz/adversarial.py).

Each program runs twice under JAX (compiled) and adgraph, so a run costs a few seconds a
program: it is opt-in, with the fresh-seed runs of test_random_programs.py::

    ADGRAPH_FUZZ_SEEDS=200 python -m pytest -q -p no:cacheprovider tests/fuzz/test_adversarial.py
    ADGRAPH_FUZZ_SEEDS=200 ADGRAPH_FUZZ_START=5000 python -m pytest ...   # seeds 5000..5199

Without ``ADGRAPH_FUZZ_START`` the seeds start at a number taken from the clock. A finding
that ``adversarial.known`` explains (a known bug, with its strict-xfail test in
test_regressions_adversarial.py) is counted and printed, not failed; so are refusals
(adgraph raising a clear error where JAX computes). The normal suite only checks that the
generator makes valid, deterministic programs covering its grammar; that the check can fail
is checked with the opt-in runs (it compiles with JAX).
"""

from __future__ import annotations

import collections
import os
import time

import numpy as np
import pytest

from .adversarial import Program, check, generate, known, report


def test_the_generator_is_deterministic_and_covers_its_grammar():
    seen: set[str] = set()
    for seed in range(150):
        prog = generate(seed)
        if seed % 10 == 0:
            assert prog.source == generate(seed).source
        compile(prog.text, f"<adversarial {seed}>", "exec")
        seen |= prog.features
    layers = {ft for ft in seen if ft.startswith("layer:")}
    assert len(layers) >= 20, sorted(layers)
    for feature in [
        "where_trick",
        "maximum_tie",
        "max_tie",
        "prod_zero",
        "sort_tie",
        "gather_repeat",
        "scatter_repeat",
        "reduce_axes",
        "int",
        "bool",
        "stop_gradient",
        "float32",
        "complex",
        "cond_guard",
        "data_index",
        "scan_xs",
        "shape:0d",
        "shape:1d:empty",
        "shape:2d:empty",
    ]:
        assert feature in seen, feature


def test_the_generated_programs_run_under_adgraph():
    """A few programs evaluate (no JAX needed): the generator writes adgraph's API."""
    import adgraph as ad
    import adgraph.lax as lax
    import adgraph.numpy as anp

    ran = 0
    for seed in range(8):
        prog = generate(seed)
        if "shape:1d:empty" in prog.features or "shape:2d:empty" in prog.features:
            continue
        ns = {"np": np, "anp": anp, "lax": lax, "ad": ad}
        exec(compile(prog.source, f"<adversarial {seed}>", "exec"), ns)
        with np.errstate(all="ignore"):
            y = ns["f"](ns["x"])
        assert np.shape(y) == np.shape(ns["x"])
        ran += 1
    assert ran >= 4


@pytest.mark.slow_property  # JAX's compilations: with the adversarial runs it checks
def test_a_convention_difference_is_caught():
    """The check sees a difference: abs at 0 has derivative 0 in adgraph (the subgradient
    at the kink, as sign(0) = 0) and 1 in JAX. Not a bug -- which is why the grammar keeps
    abs away from 0 -- but it shows a wrong number would not pass."""
    pytest.importorskip("jax")
    src = "def f(x):\n    return anp.abs(x) * 2.0\n\n\nW = np.ones(2)\nx = np.array([0.0, 1.0])\n"
    findings = check(Program(0, src, np.array([0.0, 1.0])))
    assert {fd.check for fd in findings} == {"grad", "jvp"}, findings
    assert all(fd.kind == "mismatch" for fd in findings)
    g = next(fd for fd in findings if fd.check == "grad")
    assert "[0. 2.]" in g.detail and "[2. 2.]" in g.detail


@pytest.mark.slow_property
def test_adversarial_programs():
    pytest.importorskip("jax")
    n = int(os.environ.get("ADGRAPH_FUZZ_SEEDS", "0"))
    start = int(os.environ.get("ADGRAPH_FUZZ_START", str(int(time.time()) % 10**8)))
    print(f"adversarial programs: seeds {start}..{start + n - 1}")
    unknown, counts = [], collections.Counter()
    for seed in range(start, start + n):
        prog = generate(seed)
        findings = check(prog)
        bad = []
        for fd in findings:
            name = known(prog, fd) or (fd.kind == "refusal" and f"refusal: {fd.detail[:90]}")
            if name:
                counts[name] += 1
            else:
                bad.append(fd)
        if bad:
            unknown.append(report(prog, findings))
    for name, count in counts.most_common():
        print(f"{count} finding(s): {name}")
    assert not unknown, f"{len(unknown)} program(s) failed:\n\n" + "\n\n".join(unknown)
