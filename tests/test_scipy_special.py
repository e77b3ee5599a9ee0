"""adgraph.scipy.special against SciPy's values, its derivatives against finite differences
and closed forms, and its refusals of derivatives that are not provided."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
from adgraph.scipy import special as S
from adgraph.test_util import check_grads

sp = pytest.importorskip("scipy.special")

RNG = np.random.default_rng(0)
X = np.array([-2.3, -0.7, 0.15, 0.9, 2.6])  # real line, away from 0
P = np.array([0.35, 0.9, 1.7, 3.2, 6.5])  # positive
U = np.array([0.03, 0.2, 0.5, 0.77, 0.96])  # (0, 1)
A = np.array([0.6, 1.4, 2.5, 4.0, 9.0])  # shape parameters
ORD = np.array([0.0, 1.0, 2.0, 3.0, 5.0])  # integer orders
V = np.array([-0.6, 0.5, 1.3, 2.0, 3.7])  # real orders

# (name, arguments, indices of the differentiable arguments, highest order checked).
# The reference value is SciPy's function of the same name on the same arguments.
TABLE = [
    ("gamma", (P,), (0,), 2),
    ("gamma", (np.array([-2.5, -0.5, 0.5, 3.5]),), (0,), 2),
    ("gammasgn", (np.array([-2.5, -1.5, -0.5, 0.5]),), (0,), 1),
    ("loggamma", (P,), (0,), 2),
    ("rgamma", (X,), (0,), 2),
    ("gammaln", (P,), (0,), 2),
    ("digamma", (P,), (0,), 2),
    ("psi", (P,), (0,), 2),
    ("beta", (A, P), (0, 1), 2),
    ("betaln", (A, P), (0, 1), 2),
    ("poch", (A, X), (0, 1), 2),
    ("gammainc", (A, P), (0, 1), 1),
    ("gammainc", (A, P), (1,), 3),
    ("gammaincc", (A, P), (0, 1), 1),
    ("gammainc", (np.array([2.0, 3.0, 50.0]), np.array([30.0, 40.0, 90.0])), (0, 1), 1),
    ("gammaincinv", (A, U), (0, 1), 1),
    ("gammaincinv", (A, U), (1,), 2),
    ("gammainccinv", (A, U), (0, 1), 1),
    ("betainc", (A, P, U), (2,), 2),
    ("betainc", (A, P, U), (0, 1, 2), 1),
    ("betaincinv", (A, P, U), (2,), 2),
    ("betaincinv", (A, P, U), (0, 1, 2), 1),
    ("stdtr", (P + 0.5, X), (0, 1), 1),
    ("stdtr", (P + 0.5, X), (1,), 2),
    ("stdtrit", (P + 0.5, U), (0, 1), 1),
    ("zeta", (np.array([2.0, 3.5, 1.5, 4.0, 6.0]), P), (1,), 2),
    ("jv", (V, P), (1,), 2),
    ("jn", (ORD, X), (1,), 2),
    ("j0", (X,), (0,), 2),
    ("j1", (X,), (0,), 2),
    ("yv", (V, P), (1,), 2),
    ("yn", (ORD, P), (1,), 2),
    ("y0", (P,), (0,), 2),
    ("y1", (P,), (0,), 2),
    ("iv", (V, P), (1,), 2),
    ("ive", (V, P), (1,), 2),
    ("iv", (ORD, X), (1,), 2),
    ("ive", (ORD, X), (1,), 2),
    ("i0", (X,), (0,), 2),
    ("i0e", (X,), (0,), 2),
    ("i1", (X,), (0,), 2),
    ("i1e", (X,), (0,), 2),
    ("kv", (V, P), (1,), 2),
    ("kve", (V, P), (1,), 2),
    ("k0", (P,), (0,), 2),
    ("k0e", (P,), (0,), 2),
    ("k1", (P,), (0,), 2),
    ("k1e", (P,), (0,), 2),
    ("erf", (X,), (0,), 2),
    ("erfc", (X,), (0,), 2),
    ("erfcx", (X,), (0,), 2),
    ("erfinv", (2 * U - 1,), (0,), 2),
    ("erfcinv", (2 * U,), (0,), 2),
    ("ndtr", (X,), (0,), 2),
    ("ndtri", (U,), (0,), 2),
    ("log_ndtr", (np.array([-40.0, -8.0, -1.0, 0.5, 6.0]),), (0,), 2),
    ("dawsn", (X,), (0,), 2),
    ("wofz", (X + 0.5j,), (), 0),
    ("expi", (X,), (0,), 2),
    ("exp1", (P,), (0,), 2),
    ("expn", (ORD, P), (1,), 2),
    ("spence", (np.array([0.2, 0.9, 1.0, 1.5, 4.0]),), (0,), 2),
    ("owens_t", (X, np.array([0.3, -1.2, 2.0, 0.7, 5.0])), (0, 1), 2),
    ("hyp1f1", (A, P + 0.3, X), (2,), 2),
    ("hyp2f1", (A, P, P + 2.0, 0.9 * U), (3,), 2),
    ("boxcox", (P, np.array([-1.5, 0.0, 1e-9, 0.4, 2.0])), (0, 1), 2),
    ("boxcox1p", (P, np.array([-1.5, 0.0, 1e-9, 0.4, 2.0])), (0, 1), 2),
    ("kl_div", (P, A), (0, 1), 2),
    ("rel_entr", (P, A), (0, 1), 2),
    ("entr", (P,), (0,), 2),
    ("xlogy", (X, P), (0, 1), 2),
    ("xlog1py", (X, P), (0, 1), 2),
    ("expit", (X,), (0,), 2),
    ("logit", (U,), (0,), 2),
    ("binom", (A + 3.0, P), (0, 1), 2),
    ("polygamma", (2, P), (1,), 2),
]

# The test entries tests/ops/test_completeness.py counts: the table, and the functions
# with a test of their own below (two outputs, stacked orders).
COVERED = {f"special.{row[0]}" for row in TABLE} | {
    "special.fresnel",
    "special.sici",
    "special.bessel_jn",
    "special.comb",
    "special.factorial",
    "special.multigammaln",
    "special.bernoulli",
    "special.sph_harm_y",
}


def _ref(name, args):
    if name == "polygamma":
        return sp.polygamma(*args)
    return getattr(sp, name)(*args)


@pytest.mark.parametrize(
    "name,args,diff,order", TABLE, ids=[f"{t[0]}-{i}" for i, t in enumerate(TABLE)]
)
def test_values_match_scipy(name, args, diff, order):
    ours = getattr(S, name)(*args)
    np.testing.assert_allclose(np.asarray(ours), _ref(name, args), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    "name,args,diff,order",
    [t for t in TABLE if t[3]],
    ids=[f"{t[0]}-{i}" for i, t in enumerate(TABLE) if t[3]],
)
def test_derivatives_match_finite_differences(name, args, diff, order):
    f = getattr(S, name)

    def g(*vary):
        full = list(args)
        for i, v in zip(diff, vary):
            full[i] = v
        return f(*full)

    check_grads(g, tuple(args[i] for i in diff), order=order, modes=("fwd", "rev"))


def test_two_output_functions():
    x = np.array([0.2, 1.1, 2.5, -0.8])
    for name in ("fresnel", "sici"):
        ours = getattr(S, name)(x)
        ref = getattr(sp, name)(x)
        for o, r in zip(ours, ref):
            np.testing.assert_allclose(o, r, rtol=1e-12)
        for k in range(2):
            check_grads(lambda t, k=k, name=name: getattr(S, name)(t)[k], (x,), order=2)


def test_closed_form_derivatives():
    # d/dx iv(v, x) = (iv(v-1, x) + iv(v+1, x))/2, and d/dx jn = (jn-1 - jn+1)/2
    g = ad.grad(lambda x: S.iv(1.5, x))(2.0)
    assert np.isclose(g, 0.5 * (sp.iv(0.5, 2.0) + sp.iv(2.5, 2.0)), rtol=1e-14)
    g = ad.grad(lambda x: S.jn(3, x))(1.3)
    assert np.isclose(g, 0.5 * (sp.jv(2, 1.3) - sp.jv(4, 1.3)), rtol=1e-14)
    # d/dx P(a, x) is the gamma density; d/dx I_x(a, b) the beta density
    g = ad.grad(lambda x: S.gammainc(2.5, x))(1.7)
    assert np.isclose(g, 1.7**1.5 * np.exp(-1.7) / sp.gamma(2.5), rtol=1e-14)
    g = ad.grad(lambda x: S.betainc(2.0, 3.0, x))(0.3)
    assert np.isclose(g, 0.3 * 0.7**2 / sp.beta(2.0, 3.0), rtol=1e-14)
    # d/dq zeta(s, q) = -s zeta(s + 1, q)
    g = ad.grad(lambda q: S.zeta(3.0, q))(1.5)
    assert np.isclose(g, -3.0 * sp.zeta(4.0, 1.5), rtol=1e-14)
    # wofz is holomorphic: w'(z) = -2 z w(z) + 2i/sqrt(pi)
    z = 0.4 + 0.3j
    _, t = ad.jvp(S.wofz, (z,), (1.0 + 0j,))
    assert np.isclose(t, -2 * z * sp.wofz(z) + 2j / np.sqrt(np.pi), rtol=1e-13)


def test_gammainc_shape_derivative_against_reference():
    # d/da P(a, x) from mpmath (30 digits, numerical differentiation of its regularized
    # incomplete gamma); the last three lie in the upper tail, where the quadrature of
    # dQ/da is used and P is within 1e-8 .. 1e-14 of 1.
    a = np.array([0.3, 1.0, 2.5, 30.0, 3.0, 100.0, 0.5])
    x = np.array([0.01, 0.5, 2.0, 31.0, 25.0, 140.0, 30.0])
    ref = [
        -1.2403581253867568, -0.48945757610237844, -0.27455132194588155,
        -0.07068643603337486, -1.0989050623879763e-08, -5.850365859812262e-05,
        -5.118991143389857e-14,
    ]  # fmt: skip
    ours = ad.vmap(ad.grad(S.gammainc))(a, x)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    # far in the upper tail the derivative is tiny; it is still resolved relative to itself
    # (Q(3, 40) = e^-40 (1 + 40 + 800): dQ/da is computed, not a cancellation of P ~ 1)
    d = ad.grad(S.gammaincc)(3.0, 40.0)
    assert 1e-15 < d < 1e-13


def test_betainc_shape_derivatives_against_reference():
    # d/da and d/db of I_x(a, b) from mpmath (30 digits); the last point is on the
    # flipped side (x near 1), where the small tail 1 - I is what is summed
    a = np.array([2.5, 0.7, 30.0, 200.0, 2.0])
    b = np.array([1.5, 3.0, 40.0, 300.0, 3.0])
    x = np.array([0.3, 0.9, 0.2, 0.35, 0.999])
    ref_a = [
        -0.0948427191535116, -0.001265764946336867, -6.511178748489484e-06,
        -0.0015805165182221947, -4.327084533666821e-09,
    ]  # fmt: skip
    ref_b = [
        0.08702731862242216, 0.001309996369732542, 2.8745231179385808e-06,
        0.0009471797029885483, 2.661129785009167e-08,
    ]  # fmt: skip
    ga, gb = ad.vmap(ad.grad(S.betainc, argnums=(0, 1)))(a, b, x)
    np.testing.assert_allclose(ga, ref_a, rtol=1e-12)
    np.testing.assert_allclose(gb, ref_b, rtol=1e-12)
    # Student's t distribution function in df goes through it
    g = [ad.grad(S.stdtr)(df, t) for df, t in [(3.5, 0.7), (30.0, 0.1), (1.2, 10.0)]]
    np.testing.assert_allclose(
        g, [0.00581144760854367, 1.1037610825178875e-05, 0.04197515055223407], rtol=1e-10
    )
    # the inverse: dx/da = -(dI/da) / (dI/dx) at x = betaincinv(a, b, y)
    xi = sp.betaincinv(2.5, 1.5, 0.4)
    g = ad.grad(S.betaincinv)(2.5, 1.5, 0.4)
    dens = xi**1.5 * (1 - xi) ** 0.5 / sp.beta(2.5, 1.5)
    assert np.isclose(g, -ad.grad(S.betainc)(2.5, 1.5, xi) / dens, rtol=1e-12)


def test_bessel_jn_stacks_orders():
    z = np.array([0.5, 1.5, 4.0])
    out = S.bessel_jn(z, v=4)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out, sp.jv(np.arange(5)[:, None], z), rtol=1e-13)
    check_grads(lambda t: S.bessel_jn(t, v=2), (z,), order=2)
    with pytest.raises(ValueError, match="non-negative integer"):
        S.bessel_jn(z, v=-1)


def test_combinatorics():
    n = np.array([5.0, 7.0, 3.0, -1.0, 4.5])
    k = np.array([2.0, 9.0, 3.0, 1.0, 2.0])
    np.testing.assert_allclose(S.comb(n, k), sp.comb(n, k), rtol=1e-12)
    np.testing.assert_allclose(
        S.comb(n[:3], k[:3], repetition=True), sp.comb(n[:3], k[:3], repetition=True), rtol=1e-12
    )
    assert S.comb(10, 3, exact=True) == 120
    np.testing.assert_allclose(S.factorial(n), sp.factorial(n), rtol=1e-12)
    assert S.factorial(20, exact=True) == 2432902008176640000
    check_grads(lambda t: S.factorial(t), (np.array([0.5, 2.0, 4.5]),), order=2)
    np.testing.assert_allclose(S.multigammaln(A + 2.0, 3), sp.multigammaln(A + 2.0, 3), rtol=1e-12)
    check_grads(lambda a: S.multigammaln(a, 3), (A + 2.0,), order=2)
    with pytest.raises(ValueError, match="greater than"):
        S.multigammaln(0.5, 3)
    np.testing.assert_allclose(S.bernoulli(6), sp.bernoulli(6))
    with pytest.raises(TypeError, match="exact=True"):
        ad.grad(lambda t: S.factorial(t, exact=True))(3.0)


def test_riemann_zeta_and_softmax_family():
    s = np.array([-1.5, 0.5, 2.0, 4.0])
    np.testing.assert_allclose(S.zeta(s), sp.zeta(s), rtol=1e-12)
    a = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(S.logsumexp(a, axis=1), sp.logsumexp(a, axis=1), rtol=1e-13)
    np.testing.assert_allclose(S.softmax(a, axis=0), sp.softmax(a, axis=0), rtol=1e-13)
    np.testing.assert_allclose(S.log_softmax(a, axis=1), sp.log_softmax(a, axis=1), rtol=1e-13)


def test_sph_harm_y():
    n, m = np.array([2, 3, 4]), np.array([1, -2, 0])
    th, ph = np.array([0.4, 1.1, 2.3]), np.array([0.3, 2.0, -1.0])
    np.testing.assert_allclose(S.sph_harm_y(n, m, th, ph), sp.sph_harm_y(n, m, th, ph), rtol=1e-12)
    for k in range(2):
        f = lambda t, p, k=k: [S.sph_harm_y(n, m, t, p).real, S.sph_harm_y(n, m, t, p).imag][k]  # noqa: E731
        check_grads(f, (th, ph), order=2)
    with pytest.raises(ValueError, match="diff_n=0"):
        S.sph_harm_y(n, m, th, ph, diff_n=1)


def test_broadcasting_and_float32():
    v = np.arange(3.0)[:, None]
    x = np.linspace(0.5, 3.0, 4)
    assert S.jv(v, x).shape == (3, 4)
    np.testing.assert_allclose(S.jv(v, x), sp.jv(v, x), rtol=1e-13)
    J = ad.jacfwd(lambda t: S.gammainc(2.0, t))(x)
    np.testing.assert_allclose(np.diag(J), x * np.exp(-x), rtol=1e-13)
    assert S.gammainc(np.float32(2.0), np.float32([1.0, 2.0])).dtype == np.float32
    assert S.i0e(np.float32([1.0])).dtype == np.float32


@pytest.mark.parametrize(
    "call,param",
    [
        (lambda n: S.jn(n, 2.0), "order n"),
        (lambda n: S.yn(n, 2.0), "order n"),
        (lambda v: S.iv(v, 2.0), "order v"),
        (lambda n: S.expn(n, 2.0), "n"),
        (lambda a: ad.grad(S.betainc)(a, 2.0, 0.3), "a to second order"),
        (lambda b: ad.grad(S.betainc, argnums=1)(2.0, b, 0.3), "b to second order"),
        (lambda a: S.hyp1f1(a, 2.0, 0.3), "respect to a"),
        (lambda s: S.zeta(s, 2.0), "exponent"),
        (lambda s: S.zeta(s), "exponent"),
        (lambda a: ad.grad(S.gammainc)(a, 2.0), "second order"),
    ],
)
def test_missing_derivatives_are_refused(call, param):
    for transform in (ad.grad, lambda f: lambda x: ad.jvp(f, (x,), (1.0,))):
        with pytest.raises(S.NoDerivativeError, match=param):
            transform(call)(2.0)


def test_vmap_matches_loop():
    a = np.array([0.7, 2.0, 5.0])
    x = np.array([0.4, 2.2, 7.5])
    ours = ad.vmap(ad.grad(lambda a, x: S.gammaincc(a, x), argnums=1))(a, x)
    ref = [ad.grad(lambda t: S.gammaincc(ai, t))(xi) for ai, xi in zip(a, x)]
    np.testing.assert_allclose(ours, ref, rtol=1e-14)


@pytest.mark.parametrize(
    "name,args,diff,order",
    [t for t in TABLE if t[3]],
    ids=[f"{t[0]}-{i}" for i, t in enumerate(TABLE) if t[3]],
)
def test_jit_and_vmap_agree_with_eager(name, args, diff, order):
    f = getattr(S, name)
    if name == "polygamma":  # its order is a static integer: closed over, not traced
        f, args, diff = (lambda x: S.polygamma(2, x)), args[1:], (0,)
    eager = np.asarray(f(*args))
    np.testing.assert_allclose(ad.jit(f)(*args), eager, rtol=1e-14)
    # vmap over the leading axis of every array argument (scalars stay unbatched)
    axes = tuple(0 if np.ndim(a) else None for a in args)
    np.testing.assert_allclose(ad.vmap(f, in_axes=axes)(*args), eager, rtol=1e-14)
    # and the gradient of the sum in the first differentiable argument, jitted
    i = diff[0]

    def total(v):
        full = list(args)
        full[i] = v
        return f(*full).sum()

    np.testing.assert_allclose(ad.jit(ad.grad(total))(args[i]), ad.grad(total)(args[i]), rtol=1e-13)


def test_missing_scipy_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "scipy.special", None)
    with pytest.raises(ImportError, match=r"adgraph\[scipy\]"):
        S.gammainc(2.0, np.array([1.0]))
    with pytest.raises(ImportError, match=r"adgraph\[scipy\]"):
        S.jv(1.0, np.array([1.0]))
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    from adgraph.scipy import stats

    with pytest.raises(ImportError, match=r"adgraph\[scipy\]"):
        stats.poisson.ppf(0.5, 2.0)


def test_shape_derivatives_over_a_wide_grid_against_mpmath():
    # an extra cross-check over five decades of shapes (the hard-coded references above
    # stand without mpmath)
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    rng = np.random.default_rng(3)
    a = 10 ** rng.uniform(-1.5, 2.5, 12)
    x = a * 10 ** rng.uniform(-1.5, 1.0, 12)
    got = ad.vmap(ad.grad(S.gammainc))(a, x)
    ref = [
        float(mp.diff(lambda t, xi=xi: mp.gammainc(t, 0, xi, regularized=True), ai))
        for ai, xi in zip(a, x)
    ]
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    b = 10 ** rng.uniform(-1.5, 2.5, 12)
    u = rng.uniform(0.01, 0.99, 12)
    ga, gb = ad.vmap(ad.grad(S.betainc, argnums=(0, 1)))(a, b, u)
    for k, g in ((0, ga), (1, gb)):
        ref = [
            float(
                mp.diff(
                    lambda t, ai=ai, bi=bi, ui=ui: mp.betainc(
                        t if k == 0 else ai, bi if k == 0 else t, 0, ui, regularized=True
                    ),
                    ai if k == 0 else bi,
                )
            )
            for ai, bi, ui in zip(a, b, u)
        ]
        np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-30)  # mpmath.diff: ~1e-30 abs


@pytest.mark.parametrize(
    "fn,x,y",
    [
        ("binom", 2.0, 4.0),  # n - k + 1 = -1
        ("binom", 1.0, 3.0),  # n - k + 1 = -1, n integer
        ("binom", 2.5, -1.0),  # k + 1 = 0
        ("binom", 0.5, -2.0),  # k + 1 = -1
        ("poch", -2.0, 5.0),  # (-2)(-1)(0)(1)(2)
        ("poch", 0.0, 3.0),
        ("poch", -1.0, 1.5),
    ],
)
def test_binom_and_poch_derivatives_where_the_value_is_zero_at_a_gamma_pole(fn, x, y):
    # the closed forms are 0 * inf = nan there; the limits are finite: SciPy's values by
    # central differences (first and second derivatives)
    ref, f = getattr(sp, fn), getattr(S, fn)
    assert ref(x, y) == 0.0
    h = 1e-5
    d0 = (ref(x + h, y) - ref(x - h, y)) / (2 * h)
    d1 = (ref(x, y + h) - ref(x, y - h)) / (2 * h)
    np.testing.assert_allclose([ad.grad(f, 0)(x, y), ad.grad(f, 1)(x, y)], [d0, d1], atol=1e-8)
    h = 1e-4
    h00 = (ref(x + h, y) - 2 * ref(x, y) + ref(x - h, y)) / h**2
    h11 = (ref(x, y + h) - 2 * ref(x, y) + ref(x, y - h)) / h**2
    h01 = (ref(x + h, y + h) - ref(x + h, y - h) - ref(x - h, y + h) + ref(x - h, y - h)) / (
        4 * h * h
    )
    H = ad.hessian(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(
        [[H[0][0], H[0][1]], [H[1][0], H[1][1]]], [[h00, h01], [h01, h11]], atol=1e-5
    )
