"""Every layer's backward pass against numerical gradients (float64)."""
import numpy as np
import pytest

from cnnkit import reference as R
from cnnkit.reference.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

LAYER_TOL = 1e-7


def num_grad(f, x, dout):
    return eval_numerical_gradient_array(f, x, dout, h=1e-5)


def check_grads(forward, backward, inputs, rng, tol=LAYER_TOL):
    """Compare ``backward`` with numerical gradients for every array in ``inputs``."""
    out, cache = forward(*inputs)
    dout = rng.standard_normal(out.shape)
    analytic = backward(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    for i, grad in enumerate(analytic):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return forward(*args)[0]
        numeric = num_grad(f, inputs[i], dout)
        assert R.rel_error(numeric, grad) < tol, f"input {i}: rel error {R.rel_error(numeric, grad)}"


def test_affine(rng):
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    check_grads(R.affine_forward, R.affine_backward, [x, w, b], rng)


def test_affine_rejects_mismatched_shapes(rng):
    with pytest.raises(ValueError, match=r"flattens to 6 features but w has shape \(5, 2\)"):
        R.affine_forward(rng.standard_normal((4, 2, 3)), np.ones((5, 2)), np.ones(2))


def test_relu(rng):
    x = rng.standard_normal((5, 7))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    check_grads(R.relu_forward, R.relu_backward, [x], rng)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm(rng, mode):
    x = 3 * rng.standard_normal((6, 4)) + 1
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    stats = {"running_mean": rng.standard_normal(4), "running_var": rng.random(4) + 0.5}

    def forward(x, gamma, beta):
        return R.batchnorm_forward(x, gamma, beta, {"mode": mode, **{k: v.copy() for k, v in stats.items()}})

    check_grads(forward, R.batchnorm_backward, [x, gamma, beta], rng)


def test_batchnorm_train_normalises_and_updates_running_stats(rng):
    x = 4 * rng.standard_normal((200, 3)) + 7
    bn_param = {"mode": "train", "momentum": 0.8}
    out, _ = R.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * x.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.8 + 0.2 * x.var(axis=0))


def test_batchnorm_test_mode_uses_running_stats(rng):
    x = rng.standard_normal((5, 2))
    bn_param = {"mode": "test", "running_mean": np.array([1.0, -1.0]),
                "running_var": np.array([4.0, 0.25]), "eps": 0.0}
    out, _ = R.batchnorm_forward(x, np.array([2.0, 1.0]), np.array([0.5, 0.0]), bn_param)
    np.testing.assert_allclose(out, (x - [1.0, -1.0]) / [2.0, 0.5] * [2.0, 1.0] + [0.5, 0.0])
    np.testing.assert_array_equal(bn_param["running_mean"], [1.0, -1.0])


def test_batchnorm_rejects_unknown_mode(rng):
    with pytest.raises(ValueError, match=r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"):
        R.batchnorm_forward(rng.standard_normal((3, 2)), np.ones(2), np.zeros(2), {"mode": "eval"})


def test_dropout_p_is_drop_probability(rng):
    x = np.ones((500, 500))
    out, _ = R.dropout_forward(x, {"p": 0.3, "mode": "train", "seed": 0})
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert abs(out.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    out_test, _ = R.dropout_forward(x, {"p": 0.3, "mode": "test"})
    assert out_test is x


def test_dropout_backward(rng):
    x = rng.standard_normal((6, 5))

    def forward(x):
        return R.dropout_forward(x, {"p": 0.4, "mode": "train", "seed": 3})

    check_grads(forward, R.dropout_backward, [x], rng)


def test_dropout_rejects_bad_p():
    with pytest.raises(ValueError, match=r"drop probability, in \[0, 1\); got 1.5"):
        R.dropout_forward(np.ones(3), {"p": 1.5, "mode": "train"})


@pytest.mark.parametrize("loss", [R.softmax_loss, R.svm_loss])
def test_losses(rng, loss):
    x, y = 0.1 * rng.standard_normal((8, 5)), rng.integers(0, 5, 8)
    value, dx = loss(x, y)
    numeric = eval_numerical_gradient(lambda v: loss(v, y)[0], x, verbose=False, h=1e-6)
    assert R.rel_error(numeric, dx) < 1e-7


def test_softmax_loss_of_uniform_scores_is_log_classes():
    value, _ = R.softmax_loss(np.zeros((4, 10)), np.arange(4))
    assert value == pytest.approx(np.log(10))
