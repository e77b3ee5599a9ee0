"""jit: compiled results equal eager ones, in every composition with the transformations;
guards, static arguments, caching, simplification, and the generated source."""

from __future__ import annotations

import re

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.jit import ConcretizationError
from adgraph.jit.simplify import simplify


def article(x1, x2):
    return x1 * x2 + x2 - anp.log(x1)


def rosen(x):
    return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def mlp(params, x):
    h = x
    for W, b in params[:-1]:
        h = anp.tanh(h @ W + b)
    W, b = params[-1]
    return anp.sum((h @ W + b) ** 2)


RNG = np.random.default_rng(0)
X5 = RNG.standard_normal(5)
PARAMS = [
    (RNG.standard_normal((4, 3)), RNG.standard_normal(3)),
    (RNG.standard_normal((3, 2)), RNG.standard_normal(2)),
]
XB = RNG.standard_normal((6, 4))

CASES = [
    ("article", article, (2.0, 4.0)),
    ("rosen", rosen, (X5,)),
    ("mlp", mlp, (PARAMS, XB)),
    ("softmax", lambda x: anp.sum(anp.exp(x) / anp.sum(anp.exp(x))), (X5,)),
    ("where", lambda x: anp.sum(anp.where(x > 0, x**2, anp.sin(x))), (X5,)),
    (
        "reshape_T",
        lambda x: anp.sum(anp.reshape(x, (2, 3)).T @ anp.ones((2, 2))),
        (np.arange(6.0),),
    ),
]


def assert_tree_close(a, b, rtol=1e-12, atol=1e-12):
    la, ta = ad.tree_flatten(a)
    lb, tb = ad.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_compiled_equals_eager(name, f, args):
    assert_tree_close(ad.jit(f)(*args), f(*args))
    assert_tree_close(ad.jit(ad.grad(f))(*args), ad.grad(f)(*args))
    assert_tree_close(ad.grad(ad.jit(f))(*args), ad.grad(f)(*args))
    assert_tree_close(ad.jit(ad.grad(ad.jit(f)))(*args), ad.grad(f)(*args))


@pytest.mark.parametrize("name,f,args", CASES[:2] + CASES[3:5], ids=lambda v: str(v)[:12])
def test_second_order_through_jit(name, f, args):
    want = ad.hessian(f)(*args)
    assert_tree_close(ad.jit(ad.hessian(f))(*args), want)
    assert_tree_close(ad.hessian(ad.jit(f))(*args), want)
    assert_tree_close(ad.jacfwd(ad.jit(ad.grad(f)))(*args), want)


def test_vmap_and_jvp_through_jit():
    f = lambda x: anp.sin(x) * x
    xs = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(ad.vmap(ad.jit(f))(xs), f(xs))
    np.testing.assert_allclose(ad.jit(ad.vmap(f))(xs), f(xs))
    g = lambda x: anp.sum(f(x))
    np.testing.assert_allclose(ad.vmap(ad.grad(ad.jit(g)))(xs), ad.vmap(ad.grad(g))(xs))
    y, t = ad.jvp(ad.jit(f), (xs[0],), (np.ones(3),))
    np.testing.assert_allclose(t, np.cos(xs[0]) * xs[0] + np.sin(xs[0]))


def test_compiled_once_per_signature():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2.0

    jf = ad.jit(f)
    jf(np.ones(3))
    jf(np.zeros(3))
    assert len(calls) == 1 and jf.trace_count == 1
    jf(np.ones(4))  # new shape
    jf(np.ones(3, dtype=np.float32))  # new dtype
    assert jf.trace_count == 3
    assert jf(np.ones(3, dtype=np.float32)).dtype == np.float32


def test_guards_retrace_on_a_new_branch():
    def piecewise(x):
        if x > 2:
            return x * 2 + 5
        return x / 2 + 5

    jp = ad.jit(piecewise)
    assert jp(3.0) == 11.0
    assert jp(1.0) == 5.5
    assert jp(4.0) == 13.0 and jp(0.0) == 5.0
    assert jp.trace_count == 2  # one trace per branch, then both cached
    assert ad.grad(jp)(3.0) == 2.0 and ad.grad(jp)(1.0) == 0.5


def _branchy(a):
    if anp.sin(a) > 0:
        return a * a
    return -a


@pytest.mark.parametrize(
    "name, outer",
    [
        ("jit(jit)", lambda g: ad.jit(lambda x: g(x) + 1.0)),
        ("jit(grad(jit))", lambda g: ad.jit(ad.grad(g))),
        ("jit(jvp(jit))", lambda g: ad.jit(lambda x: ad.jvp(g, (x,), (1.0,))[1])),
        ("jit(vjp(jit))", lambda g: ad.jit(lambda x: ad.vjp(g, x)[1](1.0)[0])),
        ("jit(hessian(jit))", lambda g: ad.jit(ad.hessian(g))),
        ("jit(jit(jit))", lambda g: ad.jit(lambda x: ad.jit(lambda y: g(y) * 2.0)(x))),
        ("jit(grad(jit(jit)))", lambda g: ad.jit(ad.grad(ad.jit(lambda y: g(y) * 2.0)))),
    ],
)
def test_branches_of_a_jit_function_called_inside_are_guards_of_the_caller(name, outer):
    # The inner program baked in one branch; the outer one must check it, not reuse it on
    # the other side (it returned the other branch's derivative, without an error).
    g = ad.jit(_branchy)
    f = outer(g)
    plain = outer(_branchy)
    for x in [1.0, -1.0, 2.0, -3.0, 0.5, -0.5]:
        assert f(x) == pytest.approx(plain(x), rel=1e-14), x


def test_a_program_used_outside_its_branch_refuses():
    from adgraph.jit.api import jit_call_p
    from adgraph.jit.program import BranchNotCovered

    g = ad.jit(_branchy)
    assert ad.grad(g)(1.0) == 2.0
    (comp,) = g._cache[next(k for k in g._cache if "traced" in k[1])]
    with pytest.raises(BranchNotCovered, match="branch"):
        jit_call_p.bind(-1.0, compiled=comp)
    with pytest.raises(BranchNotCovered, match="branch"):
        comp.evaluate(-1.0)


def test_vmap_of_a_jit_function_branching_on_an_unbatched_value():
    g = ad.jit(lambda x, s: x * 2.0 if s > 0 else x - 1.0)
    x = np.arange(3.0)
    np.testing.assert_array_equal(ad.vmap(g, in_axes=(0, None))(x, 1.0), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(ad.vmap(g, in_axes=(0, None))(x, -1.0), [-1.0, 0.0, 1.0])
    with pytest.raises(ConcretizationError, match="anp.where"):
        ad.vmap(g)(x, np.array([1.0, -1.0, 1.0]))
    # forward over reverse batches the tangents, not the branch's primal
    assert ad.hessian(ad.jit(_branchy))(1.0) == 2.0
    assert ad.hessian(ad.jit(_branchy))(-1.0) == 0.0
    np.testing.assert_allclose(
        ad.jacfwd(ad.grad(ad.jit(_branchy)))(np.float64(-1.0)), 0.0, atol=0.0
    )


def test_guards_in_loops():
    def newton_sqrt(a):
        x = a
        while anp.abs(x * x - a) > 1e-12:
            x = 0.5 * (x + a / x)
        return x

    j = ad.jit(newton_sqrt)
    assert j(2.0) == pytest.approx(np.sqrt(2.0))
    assert j(2.0) == pytest.approx(np.sqrt(2.0))  # same number of iterations: cached
    assert j(9.0) == pytest.approx(3.0)  # another iteration count: traced again
    assert ad.grad(j)(4.0) == pytest.approx(0.25)


def test_float_of_traced_value_names_the_line():
    def bad(x):
        return x * float(x)

    with pytest.raises(ConcretizationError) as info:
        ad.jit(bad)(1.0)
    # file:line (code): one colon before the reason, none doubled
    assert re.search(r"test_jit\.py:\d+ \(return x \* float\(x\)\): the compiled", str(info.value))
    assert "::" not in str(info.value) and ": :" not in str(info.value)


def test_static_arguments():
    def power(x, n):
        out = x
        for _ in range(n - 1):
            out = out * x
        return out

    jp = ad.jit(power, static_argnums=1)
    assert jp(2.0, 3) == 8.0 and jp(2.0, 5) == 32.0
    assert jp.trace_count == 2
    assert ad.grad(jp)(2.0, 3) == 12.0
    with pytest.raises(TypeError, match="hashable"):
        ad.jit(lambda x, s: x, static_argnums=1)(1.0, [1, 2])


def test_closure_over_an_outer_tracer():
    # jit inside grad, closing over the differentiated variable
    f = lambda x: ad.jit(lambda y: x * y * y)(3.0)
    assert ad.grad(f)(2.0) == pytest.approx(9.0)


def test_kwargs_and_pytrees():
    jf = ad.jit(lambda p, scale=1.0: {"s": anp.sum(p["a"]) * scale, "b": p["b"]})
    out = jf({"a": np.ones(3), "b": 2.0}, scale=3.0)
    assert out["s"] == 9.0 and out["b"] == 2.0


def test_simplifier_folds_constants_and_identities():
    g = ad.trace(lambda x: ((x * 1.0 + 0.0) - 0.0) / 1.0 + (2.0 * 3.0), np.ones(3))
    s, _ = simplify(g)
    ops = [n.op for n in s.toposort() if not n.is_input]
    assert ops == ["add"]
    # common subexpressions are computed once
    g2 = ad.trace(lambda x: anp.sin(x) * anp.sin(x), np.ones(3))
    s2, _ = simplify(g2)
    assert [n.op for n in s2.toposort()].count("sin") == 1


def _ops(f, *args):
    return [n.op for n in simplify(ad.trace(f, *args))[0].toposort() if not n.is_input]


def test_simplifier_sees_through_arrays_of_one_value():
    # The cotangent of sum(real(v * conj(v))) reaches the product as an array of complex
    # ones; multiplying by it is dropped, and the two conjugates of v become one.
    def f(u):
        v = anp.fft.ifft2(anp.fft.fft2(u) * 2.0)
        return anp.sum(anp.real(v * anp.conj(v)))

    u = RNG.standard_normal((8, 8))
    g = ad.trace(ad.grad(f), u)
    ops = [n.op for n in simplify(g)[0].toposort() if not n.is_input]
    assert "conj" in ops and ops.count("conj") == 1
    assert ops.count("multiply") == 2  # the two products by 2.0; none by ones
    np.testing.assert_allclose(ad.jit(ad.grad(f))(u), 8.0 * u, rtol=1e-12, atol=1e-12)
    x = np.ones((3, 4))
    ones = np.ones((3, 4))
    assert _ops(lambda x: x * ones, x) == []
    assert _ops(lambda x: x * np.broadcast_to(1.0, (3, 4)) + np.zeros((3, 4)), x) == []
    # Not folded: an entry that differs, nan, a product that broadcasts x up or changes
    # its dtype.
    almost = ones.copy()
    almost[2, 3] = 1.0 + 2**-52
    assert _ops(lambda x: x * almost, x) == ["multiply"]
    assert _ops(lambda x: x * np.full((3, 4), np.nan), x) == ["multiply"]
    assert _ops(lambda x: x[0] * ones, x) != []
    assert _ops(lambda x: x * np.ones((3, 4), complex), x) == ["multiply"]
    y = ad.jit(lambda x: x * almost)(x)
    assert y[2, 3] == 1.0 + 2**-52 and y[0, 0] == 1.0


def test_lower_shows_ir_and_source():
    low = ad.jit(ad.grad(article, argnums=(0, 1))).lower(2.0, 4.0)
    text = low.as_text()
    assert "reciprocal" in text and "return" in text
    assert "def " in low.source and "xp.reciprocal" in low.source
    assert len(low.simplified) < len(low.graph)


def test_compiled_code_reuses_buffers_and_frees_values():
    f = lambda x: anp.sum(anp.exp(anp.sin(x) * 2.0 + 1.0))
    src = ad.jit(f).lower(np.ones(100)).source
    assert "out=" in src and "del " in src
    x = RNG.standard_normal(100)
    np.testing.assert_allclose(ad.jit(f)(x), f(x))
    np.testing.assert_allclose(x, x.copy())  # the input buffer is never written


def test_make_source_round_trips():
    src = ad.make_source(ad.grad(article, argnums=(0, 1)), 2.0, 4.0)
    assert "# forward sweep" in src and "# adjoint sweep" in src
    assert "v1 = x1 * x2" in src and "vbar_m1" in src and "vbar_0" in src
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)
    assert ns["article"](2.0, 4.0) == pytest.approx((3.5, 3.0))
    assert "adgraph" not in src.split('"""')[2]  # standalone: imports numpy only

    src2 = ad.make_source(ad.grad(mlp), PARAMS, XB)
    ns2: dict = {}
    exec(compile(src2, "<generated>", "exec"), ns2)
    assert_tree_close(ns2["mlp"](PARAMS, XB), ad.grad(mlp)(PARAMS, XB))

    src3 = ad.make_source(ad.hessian(rosen), X5, naming="plain")
    ns3: dict = {}
    exec(compile(src3, "<generated>", "exec"), ns3)
    np.testing.assert_allclose(ns3["hessian_rosen"](X5), ad.hessian(rosen)(X5), rtol=1e-12)


def test_c_backend_through_jit():
    from adgraph.jit.cbackend import find_c_compiler

    if find_c_compiler() is None:
        pytest.skip("no C compiler")
    g = ad.jit(ad.grad(article, argnums=(0, 1)), compiler="c")
    assert g(2.0, 4.0) == pytest.approx((3.5, 3.0), rel=1e-15)
    assert g(3.0, 1.0) == pytest.approx(ad.grad(article, argnums=(0, 1))(3.0, 1.0), rel=1e-15)
    assert g.trace_count == 1
    h = ad.jit(ad.hessian(rosen), compiler="c")
    np.testing.assert_allclose(h(X5), ad.hessian(rosen)(X5), rtol=1e-13)
    # traced arguments go through the Python backend
    assert ad.grad(ad.jit(article, compiler="c"))(2.0, 4.0) == pytest.approx(3.5)
    with pytest.raises(ValueError, match="backend"):
        ad.jit(article, backend="fortran")


def test_backend_keyword_has_jaxs_meaning():
    # backend= is the device, as in JAX: None and "cpu" run the default NumPy code.
    for b in (None, "cpu"):
        jf = ad.jit(article, backend=b)
        assert jf.compiler == "python" and jf(2.0, 4.0) == pytest.approx(article(2.0, 4.0))
    assert ad.jit(backend="cpu")(article).compiler == "python"
    with pytest.raises(ValueError, match="CuPy arrays"):
        ad.jit(article, backend="gpu")
    with pytest.raises(ValueError, match="compiler='c'"):
        ad.jit(article, backend="fortran")
    with pytest.raises(ValueError, match="compiler must be"):
        ad.jit(article, compiler="fortran")
    # adgraph's old spelling of the code generator still works, and names the new keyword
    with pytest.warns(DeprecationWarning, match="compiler='c'"):
        jc = ad.jit(article, backend="c")
    assert jc.compiler == "c"
    with pytest.warns(DeprecationWarning, match="compiler='python'"):
        assert ad.jit(article, backend="python").compiler == "python"
    with pytest.raises(ValueError, match="disagree"):
        ad.jit(article, backend="python", compiler="c")


@pytest.mark.parametrize(
    "fun,args",
    [
        (ad.grad(lambda x: x * x), (2.0,)),
        (
            ad.grad(lambda x: anp.sum(x.at[np.array([0, 0, 2])].add(x[1:4] ** 2) ** 2)),
            (np.arange(5.0),),
        ),
        (
            ad.grad(lambda x: anp.sum(anp.abs(anp.fft.rfft(x, n=8, norm="ortho")) ** 2)),
            (np.arange(1.0, 7.0),),
        ),
        (
            ad.grad(
                lambda A: (
                    anp.linalg.det(A) + anp.sum(anp.linalg.inv(A)) + anp.einsum("ij,jk->", A, A)
                )
            ),
            (np.eye(3) + 0.1,),
        ),
        (ad.hessian(rosen), (X5,)),
    ],
    ids=["lambda", "index-arrays", "rfft", "linalg-einsum", "hessian"],
)
def test_make_source_is_standalone_numpy(fun, args, tmp_path):
    import subprocess
    import sys

    src = ad.make_source(fun, *args, fn_name="derivative")
    assert "adgraph" not in src.split('"""', 2)[2]
    # run it in a fresh interpreter that cannot import adgraph
    import pickle

    (tmp_path / "args.pkl").write_bytes(pickle.dumps(args))
    (tmp_path / "gen.py").write_text(src)
    out = tmp_path / "out.npy"
    script = (
        "import pickle, sys, numpy as np; sys.modules['adgraph'] = None; "
        f"sys.path.insert(0, {str(tmp_path)!r}); import gen; "
        f"args = pickle.loads(open({str(tmp_path / 'args.pkl')!r}, 'rb').read()); "
        f"np.save({str(out)!r}, np.asarray(gen.derivative(*args), dtype=complex))"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    np.testing.assert_allclose(
        np.load(out), np.asarray(fun(*args), dtype=complex), rtol=1e-12, atol=1e-12
    )
