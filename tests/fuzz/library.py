"""The library half of the random-program grammar: NumPy's numerical functions
(differences, integration, interpolation, convolution, polynomials, statistics, the
``nan*`` reductions, order statistics), more of ``numpy.linalg``, ``scipy.special``,
``scipy.stats`` densities and distribution functions, and ``adgraph.lax`` loops and
branches.

Each form is a template over variables of the enclosing body with a precondition on their
values (smoothness with a margin, as in :mod:`tests.fuzz.programs`); its reference value is
the same text run with NumPy and SciPy (``lax`` by the plain loops of :class:`NpLax`).
A form is *analytic* when that reference is analytic in the complex step (bodies of nested
derivatives use only those).
"""

from __future__ import annotations

import numpy as np

MARGIN = 0.1


# --------------------------------------------------------------------------- references
class NpLax:
    """``adgraph.lax`` as plain Python loops over NumPy values (``checkpoints`` changes how
    reverse mode stores the loop, never a value)."""

    @staticmethod
    def scan(f, init, xs=None, length=None, reverse=False, checkpoints=None):
        n = len(xs) if xs is not None else length
        order = range(n - 1, -1, -1) if reverse else range(n)
        carry, ys = init, [None] * n
        for t in order:
            carry, ys[t] = f(carry, None if xs is None else xs[t])
        return carry, np.stack([np.asarray(y) for y in ys])

    @staticmethod
    def fori_loop(lower, upper, body, init, checkpoints=None):
        val = init
        for i in range(lower, upper):
            val = body(i, val)
        return val

    @staticmethod
    def while_loop(cond, body, init, checkpoints=None):
        val = init
        while cond(val):
            val = body(val)
        return val

    @staticmethod
    def cond(pred, true_fun, false_fun, *operands):
        return true_fun(*operands) if pred else false_fun(*operands)

    @staticmethod
    def switch(index, branches, *operands):
        return branches[int(np.clip(index, 0, len(branches) - 1))](*operands)


class _Lazy:
    """A SciPy module, imported on first use."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


NP_STATS = _Lazy("scipy.stats")

# scipy.special functions the library forms call (added to the reference ``asp``)
SPECIAL_NAMES = (
    "betaln",
    "gammainc",
    "gammaincc",
    "ndtr",
    "log_ndtr",
    "ndtri",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "iv",
    "kv",
    "erfcx",
    "rel_entr",
    "kl_div",
    "multigammaln",
    "betainc",
    "spence",
    "zeta",
    "gamma",
    "loggamma",
    "rgamma",
    "exp1",
    "expi",
    "dawsn",
)


# --------------------------------------------------------------------------- forms
def _gaps(v, axis):
    """The smallest gap between sorted neighbours along ``axis`` (None: flattened)."""
    if axis is None:
        v, axis = np.ravel(v), 0
    if v.shape[axis] < 2:
        return np.inf
    return float(np.min(np.diff(np.sort(v, axis=axis), axis=axis)))


def _all(vals, pred):
    return all(bool(pred(v)) for v in vals)


def _knots(n):
    return f"np.linspace(-1.2, 1.6, {n})"


def numpy_forms(gen, sc, a, vals, others):
    """(template, analytic) pairs over ``a`` (and other variables) that apply here."""
    rng = gen.rng
    s, nd = a.shape, len(a.shape)
    out = []
    if nd == 0:
        return out
    ax = int(rng.integers(-nd, nd))
    n_ax = s[ax]
    if n_ax >= 2:
        out += [
            (f"anp.diff({{a}}, axis={ax})", True),
            (f"anp.gradient({{a}}, axis={ax})", True),
            (f"anp.gradient({{a}}, 0.5, axis={ax})", True),
            (f"anp.trapezoid({{a}}, axis={ax})", True),
            (f"anp.trapezoid({{a}}, dx=0.3, axis={ax})", True),
            (
                f"anp.trapezoid({{a}}, x=np.array({sorted(rng.uniform(-1, 1, n_ax).round(2).tolist())!r}), axis={ax})",
                True,
            ),
        ]
    if n_ax >= 3:
        out += [
            (f"anp.diff({{a}}, n=2, axis={ax})", True),
            (f"anp.gradient({{a}}, axis={ax}, edge_order=2)", True),
        ]
    out += [
        ("anp.ediff1d({a})", True) if np.prod(s) >= 2 else ("anp.ediff1d({a}, to_begin=0.5)", True),
        ("anp.ediff1d({a}, to_end=np.array([1.0, -1.0]))", True),
        (f"anp.cumulative_sum({{a}}, axis={ax})", True),
        (f"anp.cumulative_sum({{a}}, axis={ax}, include_initial=True)", True),
        (f"anp.nansum({{a}}, axis={ax})", True),
        (f"anp.nanmean({{a}}, axis={ax}, keepdims=True)", True),
        (f"anp.nancumsum({{a}}, axis={ax})", True),
    ]
    if _all(vals, lambda v: np.abs(v).min() > 0.3):
        out += [(f"anp.nanprod({{a}}, axis={ax})", True)]
        out += [(f"anp.cumulative_prod({{a}}, axis={ax})", True)]
    # NaNs masked in, then skipped by the nan* reductions (each slice keeps a number)
    if _all(vals, lambda v: np.abs(v - 0.3).min() > MARGIN and np.all(np.any(v > 0.3, axis=ax))):
        masked = "anp.where({a} > 0.3, {a}, anp.nan)"
        out += [
            (f"anp.nansum({masked}, axis={ax})", False),
            (f"anp.nanmean({masked}, axis={ax})", False),
        ]
    # order statistics, away from ties
    if _all(vals, lambda v: _gaps(v, ax) > MARGIN):
        out += [
            (f"anp.median({{a}}, axis={ax})", False),
            (f"anp.nanmedian({{a}}, axis={ax})", False),
            (f"anp.quantile({{a}}, 0.3, axis={ax})", False),
            (f"anp.percentile({{a}}, [25.0, 60.0], axis={ax})", False),
            (f"anp.nanpercentile({{a}}, 70.0, axis={ax}, keepdims=True)", False),
            (f"anp.nanmax({{a}}, axis={ax})", False),
            (f"anp.nanmin({{a}}, axis={ax})", False),
            (f"anp.ptp({{a}}, axis={ax})", False),
        ]
    if _all(vals, lambda v: _gaps(v, None) > MARGIN):
        out += [("anp.median({a})", False), ("anp.quantile({a}, np.array([0.1, 0.75]))", False)]
    if _all(vals, lambda v: np.min(np.var(v, axis=ax)) > 0.01) and n_ax >= 2:
        out += [
            (f"anp.nanstd({{a}}, axis={ax})", False),
            (f"anp.nanvar({{a}}, axis={ax}, ddof=1)", False),
        ]
    if nd == 2 and s[1] >= 2 and _all(vals, lambda v: np.min(np.var(v, axis=1)) > 0.01):
        out += [("anp.cov({a})", False), ("anp.cov({a}, ddof=0)", False)]
        if _all(vals, lambda v: np.abs(np.corrcoef(v)).max() < 0.999 or v.shape[0] == 1):
            out += [("anp.corrcoef({a})", False)]
    if nd == 2 and s[0] >= 2 and _all(vals, lambda v: np.min(np.var(v, axis=0)) > 0.01):
        out += [("anp.cov({a}, rowvar=False)", False)]
    # interpolation: away from the knots
    knots = np.linspace(-1.2, 1.6, 5)
    if _all(vals, lambda v: np.min(np.abs(np.ravel(v)[:, None] - knots)) > MARGIN):
        fp = [b for b in others if b.shape == (5,)]
        out += [(f"anp.interp({{a}}, {_knots(5)}, np.array([0.3, -0.5, 1.0, 0.2, 0.7]))", False)]
        if fp:
            out += [(f"anp.interp({{a}}, {_knots(5)}, {fp[0].name})", False)]
    for b in others:
        if len(b.shape) == 1 and b.shape[0] == 5:
            out += [(f"anp.interp(0.37, {_knots(5)}, {b.name})", True)]
        if len(b.shape) == 1 and (b.shape[0] + 1) in (3, 4, 5):
            # fp linear: the values at the knots of a coarser grid
            m = b.shape[0]
            out += [(f"anp.interp(np.array([-0.9, 0.1, 0.75]), {_knots(m)}, {b.name})", True)]
    # convolution, cross products, polynomials (1-D operands)
    if nd == 1:
        for b in others:
            if len(b.shape) == 1 and s[0] * b.shape[0] <= 24:
                mode = ["full", "same", "valid"][rng.integers(3)]
                out += [
                    (f"anp.convolve({{a}}, {b.name}, mode='{mode}')", True),
                    (f"anp.correlate({{a}}, {b.name}, mode='{mode}')", False),
                ]
                # NumPy removes leading zero coefficients first (a value-dependent shape):
                # leading coefficients away from 0
                if b.lead and _all(vals, lambda v: abs(v[0]) > MARGIN):
                    out += [
                        (f"anp.polymul({{a}}, {b.name})", True),
                        (f"anp.polyadd({{a}}, {b.name})", True),
                    ]
        if s[0] <= 4:
            out += [("anp.polyder({a})", True), ("anp.polyint({a})", True)]
            out += [("anp.polyval({a}, np.array([-0.7, 0.2, 1.1]))", True)]
            for b in others:
                if np.prod(b.shape) <= 12:
                    out += [(f"anp.polyval({{a}}, {b.name})", True)]
            out += [("anp.vander({a}, 3)", True)]
        if s[0] >= 4:
            x = f"np.linspace(-1.0, 1.3, {s[0]})"
            out += [(f"anp.polyfit({x}, {{a}}, 2)", False)]
            out += [(f"anp.polyfit({x}, {{a}}, 1, w=np.linspace(0.5, 1.5, {s[0]}))", False)]
        if s[0] * s[0] <= 16:
            out += [("anp.meshgrid({a}, {a} * 0.5)[1]", True)]
    if nd == 2 and 2 <= s[0] <= 6:
        x = f"np.linspace(-1.0, 1.3, {s[0]})"
        if s[0] >= 3:
            out += [(f"anp.polyfit({x}, {{a}}, 1)", False)]
    if s[-1] == 3:
        for b in others:
            if b.shape[-1:] == (3,) and b.broadcasts:
                out += [(f"anp.cross({{a}}, {b.name})", True)]
        out += [("anp.cross({a}, np.array([0.3, -1.1, 0.6]))", True)]
    if np.prod(s) <= 6:
        for b in others:
            if 1 <= len(b.shape) <= 2 and np.prod(b.shape) * np.prod(s) <= 24:
                out += [(f"anp.kron({{a}}, {b.name})", True)]
                break
    return out


def elementwise_forms(vals):
    out = [
        ("anp.exp2({a})", True, lambda v: v.max() < 3.0),
        ("anp.log2({a})", True, lambda v: v.min() > 0.2),
        ("anp.log10({a})", True, lambda v: v.min() > 0.2),
        ("anp.sinc({a})", True, lambda v: np.abs(v).max() < 2.5),
        ("anp.deg2rad({a}) * 10.0", True, None),
        ("anp.arccos({a})", True, lambda v: np.abs(v).max() < 0.8),
        ("anp.arcsinh({a})", True, None),
        ("anp.arccosh({a})", True, lambda v: v.min() > 1.2),
        ("anp.tan({a})", True, lambda v: np.abs(v).max() < 1.2),
        ("anp.logaddexp2({a}, 0.3)", False, None),
        ("anp.float_power({a}, 1.7)", True, lambda v: v.min() > 0.2),
        ("anp.fmax({a}, 0.2)", False, lambda v: np.abs(v - 0.2).min() > MARGIN),
        ("anp.fmin({a}, -0.1)", False, lambda v: np.abs(v + 0.1).min() > MARGIN),
        ("anp.nan_to_num({a})", False, None),
        ("anp.i0({a})", False, lambda v: np.abs(v).max() < 3.0),
        ("anp.positive({a}) * anp.conj({a})", False, None),
    ]
    return [(t, an) for t, an, pre in out if pre is None or _all(vals, pre)]


# Smooth maps of any value into a function's domain, used where the value is not there
# already: (0.37, 2.7) and (0.1, 0.9).
TO_POSITIVE = "anp.exp(anp.tanh({a}))"
TO_UNIT = "(0.1 + 0.8 * asp.expit({a}))"


def _domain(forms, ok, to):
    """``forms`` as they are where the values lie in the domain (``ok``), else of ``to``."""
    return forms if ok else [t.replace("{a}", to) for t in forms]


def special_forms(vals, others):
    pos = _all(vals, lambda v: v.min() > 0.2)
    unit = _all(vals, lambda v: v.min() > 0.1 and v.max() < 0.9)
    out = [
        "asp.ndtr({a})",
        "asp.log_ndtr({a})",
        "asp.i0e({a})",
        "asp.i1({a})",
        "asp.i1e({a})",
        "asp.erfcx({a})",
        "asp.dawsn({a})",
    ]
    if _all(vals, lambda v: np.abs(v).max() < 3.0):
        out += ["asp.i0({a})"]
    out += _domain(
        [
            "asp.gammainc(2.0, {a})",
            "asp.gammaincc(1.5, {a})",
            "asp.iv(1.5, {a})",
            "asp.iv(0.0, {a})",
            "asp.kv(0.5, {a})",
            "asp.kv(1.0, {a})",
            "asp.spence({a})",
            "asp.zeta(2.5, {a})",
            "asp.gamma({a})",
            "asp.loggamma({a})",
            "asp.rgamma({a})",
            "asp.exp1({a})",
            "asp.expi({a})",
            "asp.betaln({a}, 1.5)",
            "asp.rel_entr({a}, 0.7)",
            "asp.kl_div(0.7, {a})",
        ],
        pos,
        TO_POSITIVE,
    )
    if pos:
        for b in others:
            if b.positive and b.broadcasts:
                out += [
                    f"asp.betaln({{a}}, {b.name})",
                    f"asp.rel_entr({{a}}, {b.name})",
                    f"asp.xlogy({{a}}, {b.name})",
                ]
                break
    if _all(vals, lambda v: v.min() > 1.0):
        out += ["asp.multigammaln({a}, 2)"]
    out += _domain(["asp.ndtri({a})", "asp.betainc(2.0, 3.0, {a})"], unit, TO_UNIT)
    return out


def stats_forms(vals, others):
    pos = _all(vals, lambda v: v.min() > 0.2)
    unit = _all(vals, lambda v: v.min() > 0.1 and v.max() < 0.9)
    out = [
        "stats.norm.logpdf({a})",
        "stats.norm.logpdf({a}, 0.3, 1.2)",
        "stats.norm.cdf({a}, -0.2, 0.8)",
        "stats.norm.logcdf({a})",
        "stats.norm.sf({a})",
        "stats.t.logpdf({a}, 3.5)",
        "stats.t.logpdf({a}, 2.0, 0.1, 1.5)",
        "stats.logistic.logpdf({a})",
        "stats.logistic.cdf({a})",
        "stats.cauchy.logpdf({a}, 0.2, 1.5)",
        "stats.norm.logpdf(0.4, {a}, 1.3)",
    ]
    if _all(vals, lambda v: np.abs(v).min() > MARGIN):
        out += ["stats.laplace.logpdf({a})"]
    out += _domain(
        [
            "stats.norm.logpdf(0.4, -0.2, {a})",
            "stats.gamma.logpdf({a}, 2.5)",
            "stats.gamma.logpdf(1.3, {a})",
            "stats.gamma.cdf({a}, 2.5)",
            "stats.expon.logpdf({a})",
            "stats.expon.cdf({a}, 0.0, 1.5)",
            "stats.chi2.logpdf({a}, 3.0)",
            "stats.poisson.logpmf(3.0, {a})",
            "stats.t.logpdf(0.7, {a})",
        ],
        pos,
        TO_POSITIVE,
    )
    out += _domain(
        [
            "stats.beta.logpdf({a}, 2.0, 3.0)",
            "stats.beta.logpdf(0.4, {a} + 1.0, 2.0)",
            "stats.norm.ppf({a})",
        ],
        unit,
        TO_UNIT,
    )
    for b in others:
        if b.broadcasts and b.positive:
            out += [f"stats.norm.logpdf({{a}}, 0.1, {b.name})"]
            break
    return out


LOOP_BODIES = [  # (carry, x) -> carry: analytic, bounded for |c|, |x| <= 30 after scaling
    "anp.sin({c}) * 0.8 + {x} * 0.5",
    "anp.tanh({c} + {x})",
    "{c} * 0.9 + anp.cos({x}) * 0.3",
    "{c} * anp.cos({x}) * 0.7",
    "0.5 * {c} + 0.2 * {c} * {x}",
]


def lax_forms(gen, sc, a, others):
    """Loops and branches of ``adgraph.lax`` over ``a`` (templates, analytic)."""
    rng = gen.rng
    s = a.shape
    out = []

    def body(c, x):
        return LOOP_BODIES[rng.integers(len(LOOP_BODIES))].format(c=c, x=x)

    ck = ["", "", ", checkpoints=2", ", checkpoints=1"][rng.integers(4)]
    if len(s) >= 1 and 2 <= s[0] <= 4:
        rev = ", reverse=True" if rng.random() < 0.3 else ""
        init_shape = s[1:]
        inits = [b.name for b in others if b.shape == init_shape] + [
            f"np.full({init_shape!r}, 0.3)"
        ]
        init = inits[rng.integers(len(inits))]
        k = int(rng.integers(2))
        out.append(
            (
                f"lax.scan(lambda c, x: ({body('c', 'x')}, c * x), {init}, {{a}}{rev}{ck})[{k}]",
                True,
            )
        )
        out.append(
            (
                "lax.scan(lambda c, x: ((c[0] + x, c[1] * 0.5 + anp.sin(c[0])), c[1]), "
                f"({init}, {init}), {{a}}{ck})[{k}]" + ("[1]" if k == 0 else ""),
                True,
            )
        )
    n = int(rng.integers(1, 4))
    out.append((f"lax.fori_loop(0, {n}, lambda i, c: {body('c', '{a}')}, {{a}}{ck})", True))
    out.append(
        (
            f"lax.fori_loop(1, {n + 1}, lambda i, c: c * 0.8 + anp.sin(c) * (i % 2 == 1), {{a}}{ck})",
            True,
        )
    )
    out.append(
        (
            f"lax.while_loop(lambda q: q[0] < {n}, lambda q: (q[0] + 1, {body('q[1]', '{a}')}), "
            f"(0, {{a}}){ck})[1]",
            True,
        )
    )
    for b in others:
        if b.shape == s:
            out.append(
                (
                    f"lax.fori_loop(0, {n}, lambda i, c: (c[0] * 0.7 + c[1] * 0.2, anp.sin(c[0])), "
                    f"({{a}}, {b.name}){ck})[{int(rng.integers(2))}]",
                    True,
                )
            )
            break
    # branches on a predicate away from its threshold
    tot = [float(np.sum(v)) for v in sc.vals(a)]
    if all(abs(t - 0.3) > MARGIN for t in tot):
        out.append(
            (
                "lax.cond(anp.sum({a}) > 0.3, lambda u: anp.sin(u) * 2.0, "
                "lambda u: u ** 2 - 0.5, {a})",
                False,
            )
        )
        out.append(
            (
                "lax.switch((anp.sum({a}) > 0.3) * 2, "
                "[lambda u: u * 0.5, lambda u: anp.cos(u), lambda u: anp.tanh(u) * u], {a})",
                False,
            )
        )
    return out


def linalg_forms(vals, s):
    """More of numpy.linalg (square or small matrices; margins on what they need)."""
    out = []
    if len(s) < 1:
        return out
    if len(s) == 1 or s[-1] >= 1:
        if _all(vals, lambda v: np.abs(v).min() > MARGIN):
            out += [
                "anp.linalg.vector_norm({a}, ord=1, axis=-1)",
                "anp.linalg.norm({a}, ord=3, axis=-1)",
            ]
        if _all(vals, lambda v: _gaps(np.abs(v), -1) > MARGIN):
            out += ["anp.linalg.vector_norm({a}, ord=np.inf, axis=-1)"]
        if _all(vals, lambda v: np.linalg.norm(v, axis=-1).min() > 0.2):
            out += ["anp.linalg.vector_norm({a}, axis=-1, keepdims=True)"]
    if len(s) >= 2:
        if _all(vals, lambda v: np.abs(v).min() > MARGIN and _gaps(np.abs(v).sum(-2), -1) > MARGIN):
            out += ["anp.linalg.norm({a}, ord=1, axis=(-2, -1))"]
        if _all(vals, lambda v: np.abs(v).min() > MARGIN and _gaps(np.abs(v).sum(-1), -1) > MARGIN):
            out += ["anp.linalg.matrix_norm({a}, ord=np.inf)"]
        sv = [np.linalg.svd(v, compute_uv=False) for v in vals]
        if all(
            x.min() > 0.2 and (x.shape[-1] < 2 or -np.max(np.diff(x, axis=-1)) > 0.2) for x in sv
        ):
            out += [
                "anp.linalg.matrix_norm({a}, ord='nuc')",
                "anp.linalg.norm({a}, ord=-2, axis=(-2, -1))",
                "anp.linalg.svd({a}, full_matrices=False)[2] ** 2",
                "anp.linalg.cond({a})" if s[-1] == s[-2] else "anp.linalg.svdvals({a})",
            ]
        if s[-1] == s[-2]:
            n = s[-1]
            m = [v + 3.0 * np.eye(n) for v in vals]
            if all(np.linalg.cond(x).max() < 20 for x in m):
                out += [
                    f"anp.linalg.qr({{a}} + 3.0 * np.eye({n}))[0]",
                    f"anp.linalg.slogdet({{a}} + 3.0 * np.eye({n}))[0] * {{a}}",
                    f"anp.linalg.matrix_power({{a}} + 3.0 * np.eye({n}), -2)",
                    f"anp.linalg.inv({{a}} + 3.0 * np.eye({n})) @ {{a}}",
                ]
            # a general (non-symmetric) matrix with real, separated eigenvalues: mostly
            # symmetric, so that they are real
            ns = f"(({{a}} + anp.swapaxes({{a}}, -1, -2)) * 0.5 + 0.15 * {{a}} + 3.0 * np.eye({n}))"
            m2 = [(v + np.swapaxes(v, -1, -2)) * 0.5 + 0.15 * v + 3.0 * np.eye(n) for v in vals]
            ev2 = [np.linalg.eigvals(x) for x in m2]
            if all(
                np.all(np.abs(e.imag) < 1e-12) and (n < 2 or _gaps(e.real, -1) > 0.2) for e in ev2
            ):
                out += [
                    f"anp.sort(anp.real(anp.linalg.eigvals({ns})), axis=-1)",
                    f"anp.sort(anp.linalg.eig({ns})[0].real, axis=-1)",
                ]
            ev = [np.linalg.eigvals(x) for x in m]
            if all(
                np.all(e.imag == 0) and (n < 2 or _gaps(e.real, -1) > 0.2) and np.abs(e).min() > 0.2
                for e in ev
            ):
                out += [
                    f"anp.sort(anp.real(anp.linalg.eigvals({{a}} + 3.0 * np.eye({n}))), axis=-1)",
                    f"anp.sort(anp.linalg.eig({{a}} + 3.0 * np.eye({n}))[0].real, axis=-1)",
                ]
            spd = f"({{a}} @ anp.swapaxes({{a}}, -1, -2) + np.eye({n}))"
            spd_vals = [v @ np.swapaxes(v, -1, -2) + np.eye(n) for v in vals]
            if all(_gaps(np.linalg.eigvalsh(x), -1) > 0.2 for x in spd_vals):
                # separated eigenvalues (a repeated one has no second derivative)
                out += [f"anp.linalg.eigvalsh({spd}, UPLO='U')"]
            out += [
                f"anp.linalg.cholesky({spd}, upper=True)",
                f"anp.linalg.solve({spd}, {{a}})",
                f"anp.linalg.det({spd})",
            ]
        if len(s) == 2 and s[0] > s[1] and all(x.min() > 0.2 for x in sv):
            out += [
                f"anp.linalg.lstsq({{a}}, np.linspace(0.5, -1.0, {s[0] * 2}).reshape({s[0]}, 2), rcond=None)[0]"
            ]
            out += ["anp.linalg.pinv({a}) @ {a}"]
        if len(s) == 2:
            out += [
                "anp.linalg.multi_dot([{a}.T, {a}, {a}.T])",
                "anp.linalg.matrix_power({a} @ {a}.T, 2)",
            ]
    return out
