"""check_grads catches what it should and passes what is right: regression tests.

* In reverse mode at second order the VJP is checked as a function of the input *and*
  the cotangent, so a rule that is right at one cotangent but wrong in how it depends on
  it (2.002 where 2 is due) fails.
* The finite-difference step is kept from reordering near-tied values (``sort``), and is
  relative to the input's magnitude.
"""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp
from adgraph.autograd.test_util import check_grads as ag_check_grads
from adgraph.test_util import GradCheckError, check_grads


def _square_with_wrong_cotangent_dependence():
    """``x**2`` whose VJP ``2 x g`` is computed through a helper whose own VJP (in ``g``)
    is 2.002 instead of 2: right at first order, wrong as a function of the cotangent."""

    @ad.custom_vjp
    def scale2(g):
        return 2.0 * g

    scale2.defvjp(lambda g: (2.0 * g, None), lambda _, ct: (2.002 * ct,))

    @ad.custom_vjp
    def sq(x):
        return x * x

    sq.defvjp(lambda x: (x * x, x), lambda x, g: (scale2(g) * x,))
    return sq


def test_vjp_wrong_in_the_cotangent_is_caught_at_second_order():
    sq = _square_with_wrong_cotangent_dependence()
    assert ad.grad(sq)(1.5) == pytest.approx(3.0, rel=1e-15)  # first order is right
    check_grads(sq, (1.5,), order=1, modes=("rev",))
    with pytest.raises(GradCheckError, match="VJP"):
        check_grads(sq, (1.5,), order=2, modes=("rev",))
    with pytest.raises(AssertionError):
        ag_check_grads(sq, modes=["rev"], order=2)(1.5)


def test_a_right_custom_vjp_passes_at_second_order():
    @ad.custom_vjp
    def sq(x):
        return x * x

    sq.defvjp(lambda x: (x * x, x), lambda x, g: (2.0 * x * g,))
    check_grads(sq, (np.array([1.5, -0.3]),), order=3, modes=("rev",))


def test_sort_near_tie_is_not_crossed_by_the_step():
    x = np.array([1.0, 1.0 + 1e-5, 3.0, -2.0])
    f = lambda x: anp.sort(x) * anp.arange(1.0, 5.0)  # noqa: E731
    # the old fixed step of 1e-5 swaps the two near-tied entries and fails a right rule
    with pytest.raises(GradCheckError):
        check_grads(f, (x,), order=1, eps=1e-5)
    check_grads(f, (x,), order=2)
    ag_check_grads(f, modes=["fwd", "rev"], order=2)(x)


def test_abs_near_zero_and_max_near_tie():
    check_grads(lambda x: anp.abs(x) * x, (np.array([3e-6, -0.5, 2.0]),), order=2)
    check_grads(lambda x: anp.max(x) * x[0], (np.array([0.7, 0.7 + 4e-6, -1.0]),), order=1)


def test_step_is_relative_for_large_inputs():
    # x**2 at 1e8 is 1e16: an absolute step of 1e-5 leaves a difference quotient made of
    # rounding error (off by ~1e6); a step relative to the input's magnitude does not
    check_grads(lambda x: x**2, (np.array([1.0e8, -3.0e8]),), order=2)


def test_a_wrong_first_derivative_is_still_caught():
    @ad.custom_jvp
    def f(x):
        return anp.sin(x)

    f.defjvp(lambda p, t: (anp.sin(p[0]), 1.001 * anp.cos(p[0]) * t[0]))
    with pytest.raises(GradCheckError):
        check_grads(f, (np.array([0.3, 1.1]),), order=1, modes=("fwd",))
    with pytest.raises(GradCheckError):
        check_grads(f, (np.array([0.3, 1.1]),), order=1, modes=("rev",))


def test_autograd_check_grads_names_the_failing_check():
    from adgraph.autograd.extend import defvjp, primitive

    @primitive
    def triple(x):
        return 3.0 * x

    defvjp(triple, lambda ans, x: lambda g: 3.003 * g)  # wrong at first order
    with pytest.raises(AssertionError, match=r"\(VJP\) check of triple failed"):
        ag_check_grads(triple, modes=["rev"])(0.4)

    @primitive
    def ident(x):
        return x

    defvjp(ident, lambda ans, x: lambda g: 0.998 * g)

    @primitive
    def double(x):
        return 2.0 * x

    # right for any one cotangent g, wrong in how it depends on g
    defvjp(double, lambda ans, x: lambda g: 2.0 * ident(g))
    assert ad.grad(double)(0.4) == 2.0
    with pytest.raises(AssertionError, match=r"\(VJP\) check of vjp_double failed"):
        ag_check_grads(double, modes=["rev"])(0.4)
    defvjp(ident, lambda ans, x: lambda g: g)
    ag_check_grads(double, modes=["rev"], order=3)(0.4)
