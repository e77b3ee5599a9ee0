"""A traced value prints what a user needs: shape, dtype, the transformation, the value."""

from __future__ import annotations

import numpy as np

import adgraph as ad
import adgraph.numpy as anp


def _seen(transform, f, *args):
    out = []

    def g(*a):
        out.append(repr(a[0]))
        return f(*a)

    transform(g)(*args)
    return out[0]


def test_reverse_mode_value_prints_shape_dtype_transformation_and_value():
    text = _seen(ad.grad, lambda x: anp.sum(x * 2.0), np.array([1.0, 2.0, 3.0]))
    assert text.startswith("Traced<float64[3]> (traced by reverse mode")
    assert "array([1., 2., 3.])" in text
    assert "level" not in text  # no counter that grows with every call


def test_a_scalar_prints_as_a_number():
    text = _seen(lambda f: lambda x: ad.jvp(f, (x,), (1.0,)), lambda x: x * x, 1.5)
    assert text == "Traced<float64[]> (traced by jvp (forward mode)) with value 1.5"


def test_inside_vmap_one_examples_shape():
    text = _seen(ad.vmap, lambda x: x + 1.0, np.ones((4, 2), dtype=np.float32))
    assert text == "Traced<float32[2]> (traced by vmap), one of a batch of 4 values"


def test_a_large_value_goes_on_its_own_lines():
    text = _seen(ad.grad, lambda x: anp.sum(x), np.zeros((40, 40)))
    assert text.splitlines()[0].endswith("with value")


def test_errors_name_the_transformation_the_user_called():
    import pytest

    for transform, called in ((ad.grad, "grad"), (ad.value_and_grad, "value_and_grad")):
        with pytest.raises(TypeError, match=rf"^{called}\(<lambda>\): .*scalar output"):
            transform(lambda x: x * 2.0)(np.ones(2))


def test_a_plain_array_indexed_by_a_traced_value_gets_the_way_out():
    import pytest

    a = np.array([1.0, 2.0, 3.0])
    idx = np.array([0, 2])
    with pytest.raises(TypeError, match=r"anp\.take\(a, i, axis=\.\.\.\)"):
        ad.vmap(lambda i: a[i])(idx)
    np.testing.assert_array_equal(ad.vmap(lambda i: anp.take(a, i))(idx), [1.0, 3.0])
