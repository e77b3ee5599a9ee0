"""Random programs checked across every transformation (see tests/fuzz/programs.py for the
grammar and tests/fuzz/checks.py for the checks and tolerances).

In the normal suite a fixed set of seeds runs: programs whose ``checkpoint``, ``custom_jvp``
and ``custom_vjp`` functions use only their arguments, and programs whose functions also
close over values of the enclosing program. Known bugs are recognised by their errors
(``KNOWN_ERRORS``); a program failing only with those is an expected failure.

A longer run on fresh seeds (each program's seed is printed with any failure)::

    ADGRAPH_FUZZ_SEEDS=2000 python -m pytest -q -p no:cacheprovider tests/fuzz -m slow_property
    ADGRAPH_FUZZ_SEEDS=2000 ADGRAPH_FUZZ_START=5000 python -m pytest ...   # seeds 5000..6999

Without ``ADGRAPH_FUZZ_START`` the seeds start at a number taken from the clock. With
``ADGRAPH_FUZZ_JAX=1`` (and JAX installed) each program is also run by JAX and compared
(tests/fuzz/jax_reference.py; a few seconds a program, for its compilations). Reproduce
one program, with its source and every failed check::

    python -m tests.fuzz.programs SEED               # closures in rules allowed
    python -m tests.fuzz.programs --no-closures SEED  # as the first fixed set makes them
"""

from __future__ import annotations

import collections
import functools
import os
import re
import time

import numpy as np
import pytest

import adgraph as ad

from .checks import Checker, check_dtypes, check_matrix_inputs, check_program, report
from .jax_reference import available as jax_available
from .jax_reference import check_against_jax
from .programs import NP_AD, Program, generate

N_PLAIN = 130  # seeds 0..129: no closures in checkpoint/custom rules
N_CLOSURES = 60  # seeds 1000..1059: closures everywhere
N_OTHER = 30  # seeds 2000.. in float32, 3000.. with np.matrix inputs
N_JAX = 6  # seeds 4000..: also against JAX, where JAX is installed

# Errors adgraph raises today where an answer belongs, recognised by exception type,
# message and where in adgraph they come from. A program whose every failure is one of these
# is an expected failure; delete an entry when its bug is fixed. An entry is
# ``name: (exception type, message pattern, frames one of which must be on the stack (each
# "adgraph/path.py:function"), frames that must not be)``.
KNOWN_ERRORS: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {}


def known_error(failure) -> str | None:
    """The name of the known bug a failure is, or None."""
    if failure.kind != "error":
        return None
    for name, (exc, pattern, needed, excluded) in KNOWN_ERRORS.items():
        if (
            failure.detail.startswith(exc + ":")
            and re.search(pattern, failure.detail)
            and all(any(n in fr for fr in failure.frames) for n in needed)
            and not any(x in fr for fr in failure.frames for x in excluded)
        ):
            return name
    return None


def _check(prog, checks=check_program):
    """Run the checks: fail on anything but known errors, which make it an expected failure."""
    failures = checks(prog)
    known = {known_error(fl) for fl in failures}
    if failures and None not in known:
        pytest.xfail("known bug: " + "; ".join(sorted(known)))
    assert not failures, report(prog, failures)


@functools.cache
def _program(seed, closures):
    return generate(seed, closures_in_rules=closures)


CASES = [pytest.param(s, False, id=f"plain-{s}") for s in range(N_PLAIN)] + [
    pytest.param(s, True, id=f"closures-{s}") for s in range(1000, 1000 + N_CLOSURES)
]


@pytest.mark.parametrize("seed, closures", CASES)
def test_random_program(seed, closures):
    _check(_program(seed, closures))


@pytest.mark.parametrize("seed", range(2000, 2000 + N_OTHER))
def test_random_program_in_float32(seed):
    _check(_program(seed, seed % 2 == 1), check_dtypes)


@pytest.mark.parametrize("seed", range(4000, 4000 + N_JAX))
def test_random_program_against_jax(seed):
    pytest.importorskip("jax")
    _check(_program(seed, seed % 2 == 1), check_against_jax)


@pytest.mark.parametrize("seed", range(3000, 3000 + N_OTHER))
def test_random_program_with_matrix_inputs(seed):
    _check(_program(seed, seed % 2 == 1), check_matrix_inputs)


def test_the_fixed_programs_cover_the_grammar():
    """The fixed seeds exercise every structural feature (a generator change that lost one
    would otherwise go unnoticed)."""
    seen = set()
    for s in range(N_PLAIN):
        seen |= _program(s, False).features
    for s in range(1000, 1000 + N_CLOSURES):
        seen |= _program(s, True).features
    for feature in [
        "checkpoint",
        "custom_jvp",
        "custom_vjp",
        "jit",
        "vmap",
        "nested_grad",
        "nested_jvp",
        "nested_vjp",
        "nested_jacobian",
        "vmap+closure",
        "nested_grad+closure",
        "checkpoint+closure",
        "custom_jvp+closure",
        "custom_vjp+closure",
        "vmap:axes",
        "custom_jvp:two_outputs",
        "custom_vjp:two_outputs",
        "custom_jvp:pytree_argument",
        "custom_vjp:pytree_argument",
        "custom_jvp:nondiff_argnums",
        "custom_vjp:nondiff_argnums",
        "library:numpy",
        "library:elementwise",
        "library:special",
        "library:stats",
        "library:lax",
        "library:linalg",
    ]:
        assert feature in seen, feature


@pytest.mark.slow_property
def test_fresh_seeds():
    n = int(os.environ.get("ADGRAPH_FUZZ_SEEDS", "0"))
    start = int(os.environ.get("ADGRAPH_FUZZ_START", str(int(time.time()) % 10**8)))
    with_jax = bool(os.environ.get("ADGRAPH_FUZZ_JAX")) and jax_available()
    print(f"random programs: seeds {start}..{start + n - 1}" + (", with JAX" * with_jax))
    unknown, known = [], collections.Counter()
    for seed in range(start, start + n):
        closures = seed % 2 == 1
        prog = generate(seed, closures_in_rules=closures)
        failures = check_program(prog) + check_dtypes(prog) + check_matrix_inputs(prog)
        if with_jax:
            failures += check_against_jax(prog)
        if not failures:
            continue
        errors = {known_error(fl) for fl in failures}
        if None not in errors:
            known["; ".join(sorted(errors))] += 1
        else:
            unknown.append(report(prog, failures))
    for k, count in known.items():
        print(f"{count} program(s) failed with a known bug ({k})")
    assert not unknown, f"{len(unknown)} program(s) failed:\n\n" + "\n\n".join(unknown)


# ---------------------------------------------------------------- the checks can fail
def _handmade(defs, features=()):
    x = np.linspace(0.3, 1.4, 3)
    return Program(
        seed=1,  # odd: writable arrays
        defs=defs,
        inputs_text="",
        inputs=(x,),
        variants=[(x + 0.05,), (x - 0.05,)],
        batched=(True,),
        mixes=[],
        features=frozenset(features),
    )


WRONG_JVP_RULE = """
def f(x0):
    @ad.custom_jvp
    def g(a):
        return anp.sin(a)
    @g.defjvp
    def g_jvp(primals, tangents):
        (a,), (t,) = primals, tangents
        return anp.sin(a), anp.sin(a) * t  # wrong: the derivative is cos
    return g(x0) * x0

W = np.cos(np.arange(3.0) + 0.3)

def L(x0):
    return anp.sum(f(x0) * W)
"""


def test_a_wrong_custom_jvp_rule_is_caught():
    keys = {fl.key() for fl in check_program(_handmade(WRONG_JVP_RULE))}
    assert "jvp vs finite differences [mismatch]" in keys
    assert "grad vs finite differences [mismatch]" in keys


def test_a_wrong_custom_vjp_rule_is_caught():
    defs = """
def f(x0):
    @ad.custom_vjp
    def g(a):
        return anp.sin(a)
    g.defvjp(lambda a: (anp.sin(a), (a,)), lambda res, ct: (ct * res[0],))  # wrong: cos
    return g(x0) * x0

W = np.cos(np.arange(3.0) + 0.3)

def L(x0):
    return anp.sum(f(x0) * W)
"""
    prog = _handmade(defs, {"custom_vjp"})
    keys = {fl.key() for fl in check_program(prog)}
    # forward mode refuses g (as JAX does), which the checks expect; reverse mode runs the
    # wrong rule, which they catch
    assert keys == {
        "grad vs finite differences [mismatch]",
        "vjp vs finite differences (transpose identity) [mismatch]",
    }, keys
    # the same refusal in a program the generator made without custom_vjp is a failure
    keys = {fl.key() for fl in check_program(_handmade(defs))}
    assert "jvp [error: CustomVJPForwardError]" in keys
    assert "jacfwd [error: CustomVJPForwardError]" in keys


def test_a_partial_forward_refusal_is_caught():
    """Forward mode refuses a custom_vjp function in every mode or in none."""
    from .checks import FORWARD_CHECKS, Failure, expect_forward_refusal

    prog = _handmade("", {"custom_vjp"})
    frames = ("adgraph/api/custom.py:_cvjp_jvp",)
    msg = "CustomVJPForwardError: forward-mode differentiation (jvp, jacfwd, linearize) of g"
    every = [Failure(c, "error", msg, frames) for c in FORWARD_CHECKS]
    assert expect_forward_refusal(prog, every, FORWARD_CHECKS) == []
    left = expect_forward_refusal(prog, every[:1], FORWARD_CHECKS)
    assert [fl.kind for fl in left] == ["inconsistent"]
    other = Failure("jvp", "error", "TypeError: something else", frames)
    assert expect_forward_refusal(prog, [other], FORWARD_CHECKS) == [other]


def test_a_right_program_passes_and_a_leaked_tracer_fails():
    assert (
        check_program(_handmade(WRONG_JVP_RULE.replace("anp.sin(a) * t", "anp.cos(a) * t"))) == []
    )
    leak = []
    ad.grad(lambda x: (leak.append(x), x * 2.0)[1])(1.0)
    c = Checker()
    assert not c.close("a leaked tracer", leak[0], 1.0)
    assert not c.close("a last-digit error", np.array([1.0]), np.array([1.0 + 1e-8]))
    assert [fl.kind for fl in c.failures] == ["tracer", "mismatch"]


def test_the_printed_source_reproduces_the_program():
    prog = _program(3, True)
    ns = {}
    exec(prog.source, ns)
    for k, x in enumerate(prog.inputs):
        assert np.array_equal(ns[f"x{k}"], x)
    f_np = prog.numpy_functions()[0]
    np.testing.assert_allclose(ns["f"](*prog.inputs), f_np(*prog.inputs), rtol=1e-12, atol=1e-12)


def test_the_reference_derivatives_are_exact():
    x = np.linspace(-1.0, 1.0, 4)
    np.testing.assert_allclose(
        NP_AD.grad(lambda z: np.sum(np.sin(z) * x))(x), np.cos(x) * x, rtol=1e-14
    )
    J = NP_AD.jacfwd(lambda z: np.tanh(z[::-1]))(x)
    np.testing.assert_allclose(
        J, np.diag(1 - np.tanh(x[::-1]) ** 2)[:, ::-1], rtol=1e-14, atol=1e-15
    )
    _, t = NP_AD.jvp(lambda a, b: a * b, (x, x + 1), (x, 2 * x))
    np.testing.assert_allclose(t, x * (x + 1) + x * 2 * x, rtol=1e-14)
