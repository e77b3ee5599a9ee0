"""ad.debug.print and ad.debug.callback: the values, in every transformation, at run time
of compiled programs."""

from __future__ import annotations

import numpy as np
import pytest

import adgraph as ad
import adgraph.numpy as anp


def f(x):
    ad.debug.print("x = {}", x)
    y = anp.sin(x)
    ad.debug.print("y = {y:.4f}", y=y)
    return y * y


def lines(capsys):
    return capsys.readouterr().out.splitlines()


def test_eager(capsys):
    out = f(0.5)
    assert lines(capsys) == ["x = 0.5", f"y = {np.sin(0.5):.4f}"]
    assert out == pytest.approx(np.sin(0.5) ** 2)


def test_returns_none_and_callback_gets_values():
    seen = []
    assert ad.debug.callback(lambda a, b=None: seen.append((a, b)), np.arange(2.0), b=3) is None
    np.testing.assert_array_equal(seen[0][0], [0.0, 1.0])
    assert seen[0][1] == 3


def test_grad_prints_primals_and_derivative_unaffected(capsys):
    g = ad.grad(f)(0.5)
    assert lines(capsys) == ["x = 0.5", f"y = {np.sin(0.5):.4f}"]
    assert g == pytest.approx(2 * np.sin(0.5) * np.cos(0.5))


def test_jvp_and_hessian_print_primals(capsys):
    _, t = ad.jvp(f, (0.5,), (1.0,))
    assert t == pytest.approx(np.sin(1.0))
    assert lines(capsys) == ["x = 0.5", f"y = {np.sin(0.5):.4f}"]
    h = ad.hessian(f)(0.5)
    assert h == pytest.approx(2 * np.cos(1.0))
    assert set(lines(capsys)) == {"x = 0.5", f"y = {np.sin(0.5):.4f}"}


def test_callback_values_under_grad_are_arrays_not_tracers():
    seen = []

    def g(x):
        ad.debug.callback(seen.append, x)
        return anp.sum(x**2)

    np.testing.assert_allclose(ad.grad(g)(np.array([1.0, 2.0])), [2.0, 4.0])
    assert len(seen) == 1 and type(seen[0]) is np.ndarray
    np.testing.assert_array_equal(seen[0], [1.0, 2.0])


def test_vmap_calls_once_per_example(capsys):
    out = ad.vmap(f)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, np.sin([1.0, 2.0, 3.0]) ** 2)
    got = lines(capsys)
    assert [s for s in got if s.startswith("x")] == ["x = 1.0", "x = 2.0", "x = 3.0"]
    assert [s for s in got if s.startswith("y")] == [
        f"y = {np.sin(v):.4f}" for v in (1.0, 2.0, 3.0)
    ]


def test_vmap_example_shape():
    seen = []

    def g(x, c):
        ad.debug.callback(lambda a, b: seen.append((a.shape, b)), x, c)
        return x

    ad.vmap(g, in_axes=(0, None))(np.ones((4, 3)), 7.0)
    assert seen == [((3,), 7.0)] * 4


def test_jit_prints_at_every_call_not_at_trace(capsys):
    jf = ad.jit(f)
    jf(0.5)
    assert lines(capsys) == ["x = 0.5", f"y = {np.sin(0.5):.4f}"]
    jf(1.5)
    assert lines(capsys) == ["x = 1.5", f"y = {np.sin(1.5):.4f}"]
    assert jf.trace_count == 1


def test_jit_of_grad(capsys):
    jg = ad.jit(ad.grad(f))
    for x in (0.5, 1.25):
        assert jg(x) == pytest.approx(np.sin(2 * x))
        assert lines(capsys) == [f"x = {x}", f"y = {np.sin(x):.4f}"]


def test_grad_and_vmap_of_jit(capsys):
    jf = ad.jit(f)
    assert ad.grad(jf)(0.5) == pytest.approx(np.sin(1.0))
    # once, with the forward pass (not again when the pullback replays it)
    assert lines(capsys) == ["x = 0.5", f"y = {np.sin(0.5):.4f}"]
    ad.vmap(jf)(np.array([1.0, 2.0]))
    assert [s for s in lines(capsys) if s.startswith("x")] == ["x = 1.0", "x = 2.0"]


def test_jit_keeps_unused_effect_and_its_inputs(capsys):
    # Nothing uses the print's result nor the value it prints: dead-code removal must
    # keep both, and two identical prints are not merged.
    def g(x):
        ad.debug.print("cos {}", anp.cos(x))
        ad.debug.print("cos {}", anp.cos(x))
        return x + 1.0

    jg = ad.jit(g)
    assert jg(0.0) == 1.0
    assert lines(capsys) == ["cos 1.0", "cos 1.0"]
    low = jg.lower(0.0)
    ops = [n.op for n in low.simplified.toposort()]
    assert ops.count("debug_callback") == 2 and ops.count("cos") == 1
    assert "print('cos {}')" in low.as_text()


def test_jit_constant_arguments_and_no_arguments(capsys):
    def g(x):
        ad.debug.print("start")
        ad.debug.print("c = {}", 3.0)
        return x * 2.0

    jg = ad.jit(g)
    jg(1.0)
    jg(2.0)
    assert lines(capsys) == ["start", "c = 3.0"] * 2


def test_jit_effects_run_in_call_order(capsys):
    # The second print's value is computed first in the graph's levels; the program still
    # prints in the order of the calls.
    def g(x):
        ad.debug.print("deep {:.3f}", anp.sin(anp.sin(anp.sin(x))))
        ad.debug.print("x {}", x)
        return x

    ad.jit(g)(1.0)
    assert lines(capsys) == [f"deep {np.sin(np.sin(np.sin(1.0))):.3f}", "x 1.0"]


def test_jit_branch_change_prints_once(capsys):
    def g(x):
        ad.debug.print("x {}", x)
        if x > 0:
            return x
        return -x

    jg = ad.jit(g)
    assert jg(1.0) == 1.0
    assert jg(-2.0) == 2.0  # the guard fails before anything is printed, then traces again
    assert lines(capsys) == ["x 1.0", "x -2.0"]


def test_callback_does_not_see_buffer_reused():
    kept = []

    def g(x):
        y = anp.exp(x)
        ad.debug.callback(kept.append, y)
        return anp.sin(y) * 2.0

    ad.jit(g)(np.array([0.0, 1.0]))
    np.testing.assert_allclose(kept[0], np.exp([0.0, 1.0]))


def test_bad_input():
    with pytest.raises(TypeError, match="format must be a string"):
        ad.debug.print(3)
    with pytest.raises(TypeError, match="function to call"):
        ad.debug.callback(3, 1.0)


def test_jit_inside_jit_runs_each_call_at_run_time(capsys):
    @ad.jit
    def inner(x):
        ad.debug.print("inner {}", x)
        return x * 2.0

    def outer(x):
        inner(x)  # its result unused: the call is kept for its print
        return inner(x) + 1.0

    jo = ad.jit(outer)
    assert jo(1.0) == 3.0
    assert lines(capsys) == ["inner 1.0"] * 2  # not a third time while tracing
    assert jo(2.0) == 5.0
    assert lines(capsys) == ["inner 2.0"] * 2
    assert ad.grad(jo)(1.0) == 2.0
    assert lines(capsys) == ["inner 1.0"] * 2
    ad.jit(ad.vmap(inner))(np.array([1.0, 2.0]))
    assert lines(capsys) == ["inner 1.0", "inner 2.0"]


def test_scan_body_under_jit_prints_per_step_at_run_time(capsys):
    def body(c, x):
        ad.debug.print("step {} {}", c, x)
        return c + x, c

    js = ad.jit(lambda xs: ad.lax.scan(body, 0.0, xs)[0])
    for _ in range(2):
        assert js(np.arange(3.0)) == 3.0
        assert lines(capsys) == ["step 0.0 0.0", "step 0.0 1.0", "step 1.0 2.0"]


def test_make_source_refuses_callbacks_clearly(capsys):
    with pytest.raises(ValueError, match="debug.print or debug.callback"):
        ad.make_source(f, 0.5)
    assert lines(capsys) == []  # nothing printed while tracing either
