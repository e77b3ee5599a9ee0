"""Random programs checked across every transformation (see tests/fuzz/programs.py for the
grammar and tests/fuzz/checks.py for the checks and tolerances).

In the normal suite a fixed set of seeds runs: programs whose ``checkpoint``, ``custom_jvp``
and ``custom_vjp`` functions use only their arguments, and programs whose functions also
close over values of the enclosing program.

A longer run on fresh seeds (each program's seed is printed with any failure)::

    ADGRAPH_FUZZ_SEEDS=2000 python -m pytest -q -p no:cacheprovider tests/fuzz -m slow_property
    ADGRAPH_FUZZ_SEEDS=2000 ADGRAPH_FUZZ_START=5000 python -m pytest ...   # seeds 5000..6999

Without ``ADGRAPH_FUZZ_START`` the seeds start at a number taken from the clock. Reproduce
one program, with its source and every failed check::

    python -m tests.fuzz.programs SEED               # closures in rules allowed
    python -m tests.fuzz.programs --no-closures SEED  # as the first fixed set makes them
"""

from __future__ import annotations

import collections
import functools
import os
import time

import pytest

from .checks import check_program, report
from .programs import generate

N_PLAIN = 80  # seeds 0..79: no closures in checkpoint/custom rules
N_CLOSURES = 40  # seeds 1000..1039: closures everywhere

# Program features adgraph gets wrong today. A program using one is an expected failure
# (not strict: most such programs happen to pass) until the engine is fixed; then delete
# the entry, and every program must pass.
KNOWN_BUGS = {
    "checkpoint+closure": (
        "checkpoint of a function closing over a traced value leaks tracers or drops the "
        "closed-over value's derivative"
    ),
    "custom_jvp+closure": (
        "custom_jvp of a function closing over a traced value leaks tracers or drops the "
        "closed-over value's derivative"
    ),
    "custom_vjp+closure": (
        "custom_vjp of a function closing over a traced value leaks tracers or drops the "
        "closed-over value's derivative"
    ),
    "jit+closure_only_output": (
        "jit of a function whose result comes only from closed-over traced values raises "
        "ConcretizationError under grad/jvp/vmap"
    ),
    "jit+closed_over_predicate": (
        "jit of a function closing over a traced boolean fails under jit(grad)/vmap(grad): "
        "its VJP differentiates the boolean"
    ),
}


@functools.cache
def _program(seed, closures):
    return generate(seed, closures_in_rules=closures)


def _case(seed, closures):
    prog = _program(seed, closures)
    known = sorted(prog.features & KNOWN_BUGS.keys())
    marks = [pytest.mark.xfail(strict=False, reason="; ".join(KNOWN_BUGS[k] for k in known))]
    return pytest.param(
        seed,
        closures,
        marks=marks if known else [],
        id=f"{'closures' if closures else 'plain'}-{seed}",
    )


CASES = [_case(s, False) for s in range(N_PLAIN)] + [
    _case(s, True) for s in range(1000, 1000 + N_CLOSURES)
]


@pytest.mark.parametrize("seed, closures", CASES)
def test_random_program(seed, closures):
    prog = _program(seed, closures)
    failures = check_program(prog)
    assert not failures, report(prog, failures)


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
    ]:
        assert feature in seen, feature


@pytest.mark.slow_property
def test_fresh_seeds():
    n = int(os.environ.get("ADGRAPH_FUZZ_SEEDS", "0"))
    start = int(os.environ.get("ADGRAPH_FUZZ_START", str(int(time.time()) % 10**8)))
    print(f"random programs: seeds {start}..{start + n - 1}")
    unknown, known = [], collections.Counter()
    for seed in range(start, start + n):
        closures = seed % 2 == 1
        prog = generate(seed, closures_in_rules=closures)
        failures = check_program(prog)
        if not failures:
            continue
        bugs = sorted(prog.features & KNOWN_BUGS.keys())
        if bugs:
            known[", ".join(bugs)] += 1
        else:
            unknown.append(report(prog, failures))
    for k, count in known.items():
        print(f"{count} program(s) failed with a known bug ({k})")
    assert not unknown, f"{len(unknown)} program(s) failed:\n\n" + "\n\n".join(unknown)
