"""The numerical-gradient helpers themselves, on functions with known gradients."""
import numpy as np

from cnnkit import reference as R


def test_eval_numerical_gradient_of_quadratic(rng):
    x = rng.standard_normal((3, 4))
    grad = R.eval_numerical_gradient(lambda v: float(np.sum(v ** 2)), x, verbose=False)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


def test_eval_numerical_gradient_array_restores_input(rng):
    x = rng.standard_normal(5)
    before = x.copy()
    df = rng.standard_normal(5)
    grad = R.eval_numerical_gradient_array(np.sin, x, df)
    np.testing.assert_allclose(grad, np.cos(x) * df, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_grad_check_sparse_reports_small_errors(rng, capsys):
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    _, dx = R.softmax_loss(x, y)
    errors = R.grad_check_sparse(lambda v: R.softmax_loss(v, y)[0], x, dx, num_checks=5, seed=0)
    assert len(errors) == 5 and max(errors) < 1e-7
    assert "relative error" in capsys.readouterr().out


def test_rel_error():
    assert R.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert abs(R.rel_error(np.array([1.0]), np.array([3.0])) - 0.5) < 1e-12
