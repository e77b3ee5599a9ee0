"""jit and make_source with hostile names and constants, and what a compiled program keeps.

Function names that are not ASCII identifiers (``f²``, full-width letters, NUL, 300
characters, comment terminators) compile; generated source names its parameters apart
from its own values; closed-over infinities and NaNs, and dict keys of any text, are
written as source that runs in a fresh interpreter with only NumPy and cannot run
anything else; a compiled program keeps shapes and dtypes, never the arrays it was traced
with; ``cache_size`` and the bound on branch variants.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
import weakref

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit.cbackend import c_source, compile_c, find_c_compiler

needs_cc = pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")

HOSTILE_NAMES = [
    "f²",
    "ｆｕｌｌ",  # full-width letters: Python would fold them to "full"
    "a\0b",
    "x" * 300,
    "<lambda>",
    "class",
    "1st",
    "",
    "a\"b'c\\n\n",
    "*/ int pwned; /*",
    '"""; import os #',
]


def _named(name):
    def f(x):
        return anp.sin(x) * x

    f.__name__ = f.__qualname__ = name
    return f


def _ref(x):
    return np.sin(x) * x


def _dref(x):
    return np.cos(x) * x + np.sin(x)


# ============================================================================ names
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_jit_compiles_functions_of_any_name(name):
    f = _named(name)
    assert ad.jit(f)(1.5) == _ref(1.5)
    assert ad.jit(ad.grad(f))(1.5) == pytest.approx(_dref(1.5), rel=1e-15)
    src = ad.jit(f).lower(1.5).source
    fn_name = src.split("def ", 1)[1].split("(", 1)[0]
    assert fn_name.isidentifier() and fn_name.isascii() and len(fn_name) <= 80


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_make_source_of_functions_of_any_name(name):
    f = _named(name)
    for fun, ref in ((f, _ref), (ad.grad(f), _dref)):
        src = ad.make_source(fun, 1.5)
        ns: dict = {}
        exec(compile(src, "<generated>", "exec"), ns)
        defined = [k for k, v in ns.items() if callable(v) and k != "np"]
        assert len(defined) == 1 and defined[0].isascii()
        assert ns[defined[0]](1.5) == pytest.approx(ref(1.5), rel=1e-15)
        assert "pwned" not in ns and "os" not in ns


def test_callables_whose_name_is_not_a_string():
    class Law:
        __name__ = 123

        def __call__(self, x):
            return anp.sin(x) * x

    law = Law()
    assert ad.jit(law)(1.5) == _ref(1.5)
    assert "def f(x):" in ad.make_source(law, 1.5)
    assert ad.jit(law, compiler="c")(1.5) == pytest.approx(_ref(1.5), rel=1e-15)


def test_make_source_keeps_readable_names():
    assert "def f2(x):" in ad.make_source(_named("f²"), 1.0)
    assert "def full(x):" in ad.make_source(_named("ｆｕｌｌ"), 1.0)
    assert "def f(x):" in ad.make_source(lambda x: x * 2.0, 1.0)
    long = ad.make_source(_named("x" * 300), 1.0)
    fn = long.split("def ", 1)[1].split("(", 1)[0]
    assert len(fn) <= 64 and fn.startswith("xxxx")
    # two long names that differ at the end stay different
    other = ad.make_source(_named("x" * 299 + "y"), 1.0).split("def ", 1)[1].split("(", 1)[0]
    assert other != fn


@needs_cc
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_c_backend_compiles_functions_of_any_name(name):
    f = _named(name)
    src = c_source(f, 1.0)
    head, rest = src.split("\n", 1)
    assert src.isascii()
    assert head.startswith("/*") and head.endswith("*/") and head.count("*/") == 1
    assert "int pwned;" not in rest and "/*" not in rest  # the name stays in the comment
    assert compile_c(ad.grad(f), 1.0)(1.5) == pytest.approx(_dref(1.5), rel=1e-14)
    assert ad.jit(f, compiler="c")(1.5) == pytest.approx(_ref(1.5), rel=1e-15)


def test_parameter_names_never_collide_with_generated_names():
    # parameters named like the generated code's values (t1, v1, vbar1) or NumPy (np)
    def f(v1, np, vbar1, t1):
        return anp.sin(v1) * np + vbar1 * t1

    args = (1.0, 2.0, 3.0, 4.0)
    for fun in (f, ad.grad(f, argnums=(0, 1, 2, 3))):
        src = ad.make_source(fun, *args)
        ns: dict = {}
        exec(src, ns)
        got = ns["f"](*args)
        np.testing.assert_allclose(np.asarray(got), np.asarray(fun(*args)), rtol=1e-15)
    # user-given names that sanitize to the same identifier stay distinct
    src = ad.make_source(lambda a, b: a - b, 5.0, 2.0, names=["a b", "a_b"])
    ns = {}
    exec(src, ns)
    assert ns["f"](5.0, 2.0) == 3.0


def test_dict_keys_cannot_inject_code_into_make_source():
    key = 'a"""+__import__("sys").modules.__setitem__("adgraph_pwned", 1)+"""\n'

    def f(p):
        return {key: anp.sin(p[key]) * p["b"]}

    src = ad.make_source(f, {key: 1.0, "b": 2.0})
    ns: dict = {}
    exec(src, ns)
    assert "adgraph_pwned" not in sys.modules
    assert ns["f"]({key: 1.0, "b": 2.0}) == {key: np.sin(1.0) * 2.0}
    with pytest.raises(ValueError, match="dict key of type"):
        ad.make_source(lambda p: p[frozenset()] * 1.0, {frozenset(): 1.0})


# ============================================================================ constants
INF_CONSTANTS = {
    "scalar_inf": lambda x: anp.minimum(x, np.inf) + np.float32(-np.inf),
    "array": lambda x: x * np.array([1.0, np.inf, -np.inf, np.nan]),
    "float32_array": lambda x: x * np.array([1.0, np.inf, -np.inf, np.nan], dtype=np.float32),
    "two_d": lambda x: x * np.array([[np.inf, 1.0, np.nan, -0.0]] * 2),
    "complex": lambda x: x * np.array([1 + 2j, complex(np.inf, np.nan), 0j, -1j]),
    "np": lambda x: anp.sin(x) * np.array([np.inf, 1.0, 2.0, 3.0]),  # a function named np
    "full": lambda x: x + anp.full((4,), -np.inf),
    "big_int": lambda x: x * np.array([2**62, -(2**63), 3, 0]),
    "grad": lambda x: ad.grad(
        lambda y: anp.sum(anp.minimum(y, np.inf) * np.array([np.nan, 1, 2, 3]))
    )(x),
}


def test_make_source_constants_run_in_a_fresh_interpreter(tmp_path):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    script = ["import numpy as np", "x = np.array([1.0, 2.0, 3.0, 4.0])"]
    refs = {}
    for name, f in INF_CONSTANTS.items():
        with np.errstate(invalid="ignore"):  # inf * 0 in the complex product
            refs[name] = np.asarray(f(x))
            src = ad.make_source(f, x, fn_name=name)
        assert "adgraph" not in src.split('"""', 2)[-1]  # NumPy only
        fn = src.split("\ndef ", 1)[1].split("(", 1)[0]  # "np" is renamed
        script += [
            "ns = {}",
            f"exec({src!r}, ns)",
            f"np.save({str(tmp_path / name)!r}, ns[{fn!r}](x))",
        ]
    proc = subprocess.run(
        [sys.executable, "-I", "-c", "\n".join(script)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for name, ref in refs.items():
        got = np.load(tmp_path / f"{name}.npy")
        assert got.dtype == ref.dtype, name
        np.testing.assert_array_equal(got, ref, err_msg=name)


# ============================================================================ import path
def test_cbackend_module_path_of_the_docs():
    import adgraph
    import adgraph.jit.cbackend as cb  # the path docs/cbackend.md and the README name

    assert cb.compile_c is ad.compile_c
    assert adgraph.jit.cbackend is cb
    from adgraph.jit.cbackend import compile_c as cc

    assert cc is cb.compile_c
    assert callable(adgraph.jit) and adgraph.jit(lambda x: x * 2.0)(3.0) == 6.0


# ============================================================================ memory
def _loss(x):
    return anp.sum(anp.sin(x) * x**2 + anp.exp(-x * x))


def _loss_jvp(x):
    return ad.jvp(_loss, (x,), (x,))[1]


MEMORY_CASES = {
    "jit_grad": (lambda: ad.jit(ad.grad(_loss)), ad.grad(_loss)),
    "jit": (lambda: ad.jit(_loss), _loss),
    "grad_jit": (lambda: ad.grad(ad.jit(_loss)), ad.grad(_loss)),
    "jit_jvp": (lambda: ad.jit(_loss_jvp), _loss_jvp),
}


@pytest.mark.parametrize("case", MEMORY_CASES)
def test_compiled_programs_keep_no_example_values(case):
    make, eager = MEMORY_CASES[case]
    fun = make()
    x = np.random.default_rng(0).standard_normal(20_000_000 // 8)  # 20 MB
    want = np.asarray(eager(x)).ravel()[:5]
    alive = weakref.ref(x)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = fun(x)  # traced and compiled with x's values: the program is cached
        np.testing.assert_allclose(np.asarray(out).ravel()[:5], want, rtol=1e-13)
        del x, out
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert alive() is None
    assert held < 2_000_000, f"{held / 1e6:.1f} MB still held after the call"
    assert np.shape(fun(np.array([0.5, 1.0]))) == np.shape(eager(np.array([0.5, 1.0])))


# ============================================================================ cache bounds
def test_cache_size_bounds_the_signatures_kept():
    jf = ad.jit(lambda x: x * 2.0, cache_size=2)
    for n in (1, 2, 3):
        jf(np.ones(n))
    assert len(jf._cache) == 2 and jf.trace_count == 3
    jf(np.ones(3))  # kept
    assert jf.trace_count == 3
    assert jf(np.ones(1)).tolist() == [2.0] and jf.trace_count == 4  # dropped, traced again
    none = ad.jit(lambda x: x + 1.0, cache_size=0)
    assert none(1.0) == 2.0 and none(1.0) == 2.0 and none.trace_count == 2
    for bad in (-1, 2.5, "64", None):
        with pytest.raises((ValueError, TypeError), match="cache_size"):
            ad.jit(lambda x: x, cache_size=bad)


def test_each_signature_keeps_at_most_16_branch_variants():
    def bucket(x):
        for k in range(20):
            if x < k:
                return x * k
        return x

    jb = ad.jit(bucket)
    for k in range(18):
        assert jb(k + 0.5) == (k + 0.5) * (k + 1)
    assert jb.trace_count == 18
    variants = next(iter(jb._cache.values()))
    assert len(variants) == 16
    assert jb(17.5) == 17.5 * 18 and jb.trace_count == 18  # a recent variant: no trace
    assert jb(0.5) == 0.5 and jb.trace_count == 19  # the oldest was dropped: traced again
