"""Integer-valued results of ``adgraph.scipy.stats``, computed by ``scipy.stats``.

The von Mises distribution function (``vonmises_cdf``, a Fourier series, with its
derivative in the concentration) and quantile (SciPy's value, with the inverse-function
derivatives) are here too.

The quantile functions of the discrete distributions (``poisson.ppf``, ``binom.isf``...)
take integer values: piecewise constant in every argument, so they carry no derivative
(as in JAX). They are one primitive, ``stats_call``, with no rules but batching, that calls
``scipy.stats.<dist>.<method>`` on the concrete arguments.
"""

from __future__ import annotations

from ..ad.rules import elementwise, nondiff

__all__ = ["stats_call", "stats_fn", "vonmises_cdf_p", "vonmises_ppf_p"]


def _scipy_stats(dist: str, method: str):
    try:
        import scipy.stats as ss
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.stats.{dist}.{method} computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    return getattr(getattr(ss, dist), method)


def _impl(xp, *args, dist: str, method: str):
    return xp.asarray(_scipy_stats(dist, method)(*args), dtype=float)


stats_call_p = nondiff(
    "stats_call",
    _impl,
    doc="scipy.stats.<dist>.<method>(*args) of an integer-valued method: no derivative.",
)


def stats_call(dist: str, method: str, *args):
    """``scipy.stats.<dist>.<method>(*args)`` as a float array carrying no derivative."""
    return stats_call_p.bind(*args, dist=dist, method=method)


def _fn_impl(xp, *args, fn: str, kw: tuple, index: int | None):
    try:
        import scipy.stats as ss
    except ImportError:
        raise ImportError(
            f"adgraph.scipy.stats.{fn} computes with SciPy, which is not installed; "
            "install it with: pip install 'adgraph[scipy]'"
        ) from None
    out = getattr(ss, fn)(*args, **dict(kw))
    if index is not None:
        out = out[index]
    return xp.asarray(out)


stats_fn_p = nondiff(
    "stats_fn",
    _fn_impl,
    elementwise_batch=False,
    doc="scipy.stats.<fn>(*args, **kw)[index] of a function with piecewise-constant "
    "results (rankdata, mode): no derivative.",
)


def stats_fn(fn: str, *args, index: int | None = None, **kw):
    """``scipy.stats.<fn>(*args, **kw)`` (its ``index``-th result), carrying no derivative."""
    return stats_fn_p.bind(*args, fn=fn, kw=tuple(sorted(kw.items())), index=index)


# ---------------------------------------------------------------- von Mises distribution
# F(y) = 1/2 + y/(2 pi) + (1/pi) sum_{n>=1} r_n sin(n y)/n on [-pi, pi], r_n = I_n(k)/I_0(k)
# (the Fourier series of the density, integrated). The ratios fall off once n passes
# k: the sum runs to the first n past k + 12 sqrt(k) + 40 where every r_n is below 1e-17.
# The same loop gives dF/dk, from dr_n/dk = (r_{n-1} + r_{n+1})/2 - r_n r_1.


_VM_KAPPA_MAX = 1e6  # about four seconds of series terms


def _vm_series(xp, kappa, y, *, wrt_kappa: bool):
    _scipy_stats("vonmises", "cdf")  # SciPy is there, or the error naming the extra
    import scipy.special as sp

    k, y = xp.broadcast_arrays(xp.asarray(kappa, dtype=float), xp.asarray(y, dtype=float))
    i0 = sp.ive(0, k)
    known = k[~xp.isnan(k)]  # a nan kappa gives nan below, as in SciPy
    top = float(xp.max(known)) if known.size else 0.0
    if top > _VM_KAPPA_MAX:
        raise ValueError(
            f"vonmises.cdf: kappa = {top:g} is beyond what the series here sums in reasonable "
            f"time (kappa <= {_VM_KAPPA_MAX:g}: about kappa terms); at such concentration the "
            "distribution is normal to within 1/kappa: use norm.cdf(x, loc, 1/sqrt(kappa))"
        )
    nmax = int(top + 12.0 * top**0.5 + 40.0)
    r_prev = xp.ones_like(k)  # r_0
    r_cur = sp.ive(1, k) / i0  # r_1
    r1 = r_cur
    s = xp.zeros_like(k)
    for n in range(1, nmax + 1):
        r_next = sp.ive(n + 1, k) / i0
        if wrt_kappa:
            term = (0.5 * (r_prev + r_next) - r_cur * r1) * xp.sin(n * y) / n
        else:
            term = r_cur * xp.sin(n * y) / n
        s = s + term
        r_prev, r_cur = r_cur, r_next
        if n > top and not bool(xp.any(r_cur > 1e-17)):
            break
    if wrt_kappa:
        return s / xp.pi
    return 0.5 + y / (2.0 * xp.pi) + s / xp.pi


def _vm_pdf(kappa, y):
    from .elementwise import cos, divide, exp, multiply, subtract
    from .special_bessel import i0e

    return divide(
        exp(multiply(kappa, subtract(cos(y), 1.0))), multiply(2.0 * 3.141592653589793, i0e(kappa))
    )


def _vm_dpdf_dkappa(kappa, y):
    # d/dk of exp(k cos y)/(2 pi I0(k)) = pdf (cos y - I1(k)/I0(k))
    from .elementwise import cos, divide, multiply, subtract
    from .special_bessel import i0e, i1e

    return multiply(_vm_pdf(kappa, y), subtract(cos(y), divide(i1e(kappa), i0e(kappa))))


def _vm_impl(xp, kappa, y):
    return _vm_series(xp, kappa, y, wrt_kappa=False)


def _vm_dk_impl(xp, kappa, y):
    return _vm_series(xp, kappa, y, wrt_kappa=True)


def _refuse_vm(ans, *args):
    from .special_util import NoDerivativeError

    raise NoDerivativeError(
        "adgraph.scipy.stats.vonmises: the second derivative in kappa of the distribution "
        "function is not provided; pass kappa as a constant there"
    )


vonmises_cdf_dkappa_p = elementwise(
    "vonmises_cdf_dkappa",
    _vm_dk_impl,
    _refuse_vm,
    lambda ans, kappa, y: _vm_dpdf_dkappa(kappa, y),
    doc="d/dkappa of the von Mises distribution function on [-pi, pi]; derivative in y "
    "the density's derivative in kappa, none in kappa.",
)
vonmises_cdf_p = elementwise(
    "vonmises_cdf",
    _vm_impl,
    lambda ans, kappa, y: vonmises_cdf_dkappa_p.bind(kappa, y),
    lambda ans, kappa, y: _vm_pdf(kappa, y),
    doc="The von Mises distribution function on [-pi, pi] by its Fourier series; "
    "derivatives: the density in y, the series' derivative in kappa.",
)


def _vm_ppf_impl(xp, kappa, q):
    return xp.asarray(_scipy_stats("vonmises", "ppf")(q, kappa), dtype=float)


def _vm_ppf_dkappa(ans, kappa, q):
    from .elementwise import divide, negative

    return negative(divide(vonmises_cdf_dkappa_p.bind(kappa, ans), _vm_pdf(kappa, ans)))


def _vm_ppf_dq(ans, kappa, q):
    from .elementwise import reciprocal

    return reciprocal(_vm_pdf(kappa, ans))


vonmises_ppf_p = elementwise(
    "vonmises_ppf",
    _vm_ppf_impl,
    _vm_ppf_dkappa,
    _vm_ppf_dq,
    doc="The von Mises quantile on [-pi, pi] (SciPy's value); derivatives 1/density in q "
    "and -(dF/dkappa)/density in kappa at the quantile.",
)
