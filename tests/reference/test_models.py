"""Models and Solver: gradients in float64, initialisation, overfitting a small set."""
import numpy as np
import pytest

from cnnkit import reference as R


def model_grad_errors(model, X, y):
    """Relative error per parameter; entries where both gradients are rounding noise
    (a unit that ReLU switched off for the whole batch) are compared absolutely."""
    loss, grads = model.loss(X, y)
    errors = {}
    for name in sorted(model.params):
        numeric = R.eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                            verbose=False, h=1e-6)
        live = (np.abs(numeric) > 1e-9) | (np.abs(grads[name]) > 1e-9)
        errors[name] = R.rel_error(numeric[live], grads[name][live]) if live.any() else 0.0
    return loss, errors


@pytest.mark.parametrize("use_batchnorm", [False, True])
def test_three_layer_convnet_gradients(rng, use_batchnorm):
    model = R.ThreeLayerConvNet(input_dim=(3, 8, 6), num_filters=3, filter_size=3, hidden_dim=7,
                                dtype=np.float64, reg=0.1, weight_scale=1e-2,
                                use_batchnorm=use_batchnorm, seed=0)
    X, y = rng.standard_normal((2, 3, 8, 6)), np.array([1, 4])
    _, errors = model_grad_errors(model, X, y)
    worst = {k: e for k, e in errors.items() if e >= 1e-2}
    assert not worst, f"relative errors over 1e-2: {worst}"
    assert errors["b3"] < 1e-7


def test_three_layer_convnet_initialisation_and_scores(rng):
    model = R.ThreeLayerConvNet(weight_scale=1e-3, seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100), "b2": (100,),
                      "W3": (100, 10), "b3": (10,)}
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert model.params["W2"].std() == pytest.approx(1e-3, rel=0.01)
    assert not model.params["b1"].any()
    scores = model.loss(rng.standard_normal((3, 3, 32, 32)))
    assert scores.shape == (3, 10)
    loss, _ = model.loss(rng.standard_normal((3, 3, 32, 32)), np.array([0, 1, 2]))
    assert loss == pytest.approx(np.log(10), abs=0.01)


def test_three_layer_convnet_regularises_every_weight(rng):
    X, y = rng.standard_normal((2, 3, 8, 8)), np.array([0, 1])
    plain = R.ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, filter_size=3, hidden_dim=4,
                                dtype=np.float64, reg=0.0, seed=1, weight_scale=0.1)
    reg = R.ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, filter_size=3, hidden_dim=4,
                              dtype=np.float64, reg=0.7, seed=1, weight_scale=0.1)
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = reg.loss(X, y)
    penalty = 0.5 * 0.7 * sum(np.sum(reg.params[k] ** 2) for k in ("W1", "W2", "W3"))
    assert loss1 - loss0 == pytest.approx(penalty)
    for k in ("W1", "W2", "W3"):
        np.testing.assert_allclose(grads1[k] - grads0[k], 0.7 * reg.params[k], atol=1e-12)


@pytest.mark.parametrize("use_batchnorm,pool,hidden", [(True, [True, False], [5]), (False, True, [])])
def test_convnet_gradients(rng, use_batchnorm, pool, hidden):
    model = R.ConvNet(input_dim=(2, 8, 8), num_filters=[3, 2], filter_size=[3, 1], pool=pool,
                      hidden_dims=hidden, num_classes=4, weight_scale=0.3, reg=0.05,
                      use_batchnorm=use_batchnorm, dtype=np.float64, seed=2)
    X, y = rng.standard_normal((3, 2, 8, 8)), np.array([0, 3, 1])
    _, errors = model_grad_errors(model, X, y)
    _, grads = model.loss(X, y)
    # A bias followed by batch norm has a zero gradient: compare it absolutely.
    cancelled = {f"b{k[5:]}" for k in model.params if k.startswith("gamma")}
    for k in cancelled:
        assert np.abs(grads[k]).max() < 1e-10, k
    worst = {k: e for k, e in errors.items() if e >= 1e-5 and k not in cancelled}
    assert not worst, f"relative errors over 1e-5: {worst}"


def test_convnet_rejects_bad_configuration():
    with pytest.raises(ValueError, match=r"every filter_size must be odd"):
        R.ConvNet(num_filters=[4], filter_size=2)
    with pytest.raises(ValueError, match=r"conv block 2 pools a 3x3 map"):
        R.ConvNet(input_dim=(1, 6, 6), num_filters=[2, 2])


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_update_rules_decrease_a_quadratic(rule):
    w = np.array([3.0, -2.0])
    config = {"learning_rate": 0.05}
    for _ in range(200):
        w, config = getattr(R, rule)(w, 2 * w, config)
    assert np.abs(w).max() < 0.5


def test_adam_first_step_moves_by_learning_rate():
    w, config = R.adam(np.array([1.0, -1.0]), np.array([0.5, -3.0]), {"learning_rate": 0.1})
    np.testing.assert_allclose(w, [0.9, -0.9], rtol=1e-6)
    assert config["t"] == 1


def test_solver_overfits_small_data(rng):
    X = rng.standard_normal((20, 3, 8, 8))
    y = rng.integers(0, 10, 20)
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    model = R.ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=8, filter_size=3,
                                hidden_dim=50, weight_scale=1e-1, seed=0)
    solver = R.Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                      batch_size=10, num_epochs=20, verbose=False, seed=0)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < solver.loss_history[0]
    assert len(solver.val_acc_history) == 20
    assert solver.best_val_acc == 1.0


def test_solver_rejects_unknown_options_and_rules(rng):
    data = {"X_train": np.zeros((2, 1)), "y_train": np.zeros(2, int), "X_val": np.zeros((2, 1)),
            "y_val": np.zeros(2, int)}
    model = R.ConvNet(input_dim=(1, 2, 2), num_filters=[1], pool=False)
    with pytest.raises(TypeError, match="Solver got unknown arguments: learning_rate"):
        R.Solver(model, data, learning_rate=1)
    with pytest.raises(ValueError, match="update_rule 'adamw' is not one of"):
        R.Solver(model, data, update_rule="adamw")


def test_solver_restores_best_model_with_batchnorm_statistics(rng):
    X = rng.standard_normal((60, 3, 8, 8))
    y = rng.integers(0, 10, 60)
    data = {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}
    model = R.ConvNet(input_dim=(3, 8, 8), num_filters=[4], hidden_dims=[10], seed=0)
    solver = R.Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                      batch_size=10, num_epochs=6, checks_per_epoch=2, verbose=False, seed=0)
    solver.train()
    final = solver.check_accuracy(data["X_val"], data["y_val"])
    assert final == solver.best_val_acc == max(solver.val_acc_history)


@pytest.mark.parametrize("per_epoch, checks", [(765, 8), (5, 8), (6, 1), (7, 3), (1, 1)])
def test_checks_fall_evenly_the_last_at_each_epoch_end(per_epoch, checks):
    from cnnkit.reference.solver import check_due
    for epoch in range(2):
        due = [i for i in range(epoch * per_epoch + 1, (epoch + 1) * per_epoch + 1)
               if check_due(i, per_epoch, checks)]
        assert len(due) == min(checks, per_epoch)       # never two checks at one point
        assert due[-1] == (epoch + 1) * per_epoch


def test_solver_checks_as_often_as_asked(rng):
    X = rng.standard_normal((70, 3, 8, 8))
    y = rng.integers(0, 10, 70)
    data = {"X_train": X[:50], "y_train": y[:50], "X_val": X[50:], "y_val": y[50:]}
    model = R.ConvNet(input_dim=(3, 8, 8), num_filters=[4], hidden_dims=[], seed=0)
    solver = R.Solver(model, data, batch_size=10, num_epochs=2, checks_per_epoch=2,
                      verbose=False, seed=0)
    solver.train()
    assert solver.check_iterations == [3, 5, 8, 10]
