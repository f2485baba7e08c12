"""Solver: minibatch training of a classification model.

A model exposes ``params`` (a dict of arrays) and ``loss(X, y=None)``, which
returns class scores of shape (N, C) when ``y`` is None and ``(loss, grads)``
otherwise, ``grads`` having the same keys as ``params``.
"""
import numpy as np

from . import optim
from .checkpoint import load_state, model_state


class Solver:
    """Trains a model with stochastic gradient descent and records its history.

    Parameters
    ----------
    model : object with ``params`` and ``loss(X, y=None)``.
    data : dict with ``X_train`` (N, ...), ``y_train`` (N,), ``X_val``, ``y_val``.
    update_rule : name of a rule in :mod:`optim` or a callable (default 'sgd').
    optim_config : hyperparameters for the rule, copied for each parameter.
    lr_decay : the learning rate is multiplied by this after each epoch.
    batch_size, num_epochs : minibatch size (100) and epochs (10).
    num_train_samples : training examples used to estimate training accuracy
        (1000; None uses all). num_val_samples : likewise for validation (None).
    print_every : print the loss every this many iterations (10).
    verbose : print progress (True).
    checks_per_epoch : how often accuracy is checked within an epoch (1).
    on_check : optional ``callable(solver)`` run after every accuracy check
        (for progress displays and early stopping: return True to stop).
    progress : show a progress bar over iterations with the latest loss
        instead of printing it (False).
    seed : seed for minibatch sampling (None: fresh entropy).
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.checks_per_epoch = kwargs.pop("checks_per_epoch", 1)
        self.on_check = kwargs.pop("on_check", None)
        self.progress = kwargs.pop("progress", False)
        self.rng = np.random.default_rng(kwargs.pop("seed", None))
        if kwargs:
            raise TypeError(f"Solver got unknown arguments: {', '.join(sorted(kwargs))}")
        if isinstance(self.update_rule, str):
            if not hasattr(optim, self.update_rule):
                raise ValueError(
                    f"update_rule {self.update_rule!r} is not one of "
                    "'sgd', 'sgd_momentum', 'rmsprop', 'adam'")
            self.update_rule = getattr(optim, self.update_rule)
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self._best_state = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.check_iterations = []
        self._bar = None
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        idx = self.rng.choice(self.X_train.shape[0], self.batch_size, replace=False)
        loss, grads = self.model.loss(self.X_train[idx], self.y_train[idx])
        self.loss_history.append(float(loss))
        for p, w in self.model.params.items():
            next_w, self.optim_configs[p] = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of ``X`` (optionally a random subsample) classified as ``y``."""
        if num_samples is not None and X.shape[0] > num_samples:
            idx = self.rng.choice(X.shape[0], num_samples, replace=False)
            X, y = X[idx], y[idx]
        return float(np.mean(predict(self.model, X, batch_size) == y))

    def _check(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self.check_iterations.append(self.iteration)
        if self.verbose:
            message = (f"(Epoch {self.epoch} / {self.num_epochs}) "
                       f"train acc: {train_acc:f}; val_acc: {val_acc:f}")
            if self._bar is not None:
                self._bar.write(message)
            else:
                print(message)
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self._best_state = {k: v.copy() for k, v in model_state(self.model).items()}
            self.best_params = {k: self._best_state[k] for k in self.model.params}
        return bool(self.on_check and self.on_check(self))

    def train(self):
        """Run the optimisation, then keep the best model seen.

        "Best" is the highest validation accuracy at a check; its parameters
        and batch-norm running statistics are restored together, so the model
        scores exactly what it scored then.
        """
        per_epoch = max(self.X_train.shape[0] // self.batch_size, 1)
        total = self.num_epochs * per_epoch
        stopped = False
        self._bar = bar = _progress_bar(total) if self.progress else None
        while self.iteration < total and not stopped:
            self._step()
            self.iteration += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=self.epoch, loss=f"{self.loss_history[-1]:.3f}",
                                refresh=False)
            elif self.verbose and self.print_every and self.iteration % self.print_every == 0:
                print(f"(Iteration {self.iteration} / {total}) loss: {self.loss_history[-1]:f}")
            epoch_end = self.iteration % per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config["learning_rate"] = config.get("learning_rate", 1e-2) * self.lr_decay
            if check_due(self.iteration, per_epoch, self.checks_per_epoch):
                stopped = self._check()
        if bar is not None:
            bar.close()
            self._bar = None
        if self._best_state:
            load_state(self.model, self._best_state)


def check_due(iteration, per_epoch, checks_per_epoch):
    """Whether accuracy is checked after ``iteration`` (counted from 1).

    Checks fall ``checks_per_epoch`` times an epoch (at most once an
    iteration), evenly spread, the last at the epoch's end: with 765
    iterations an epoch and 8 checks, after iterations 96, 192, 287, ..., 765.
    """
    within = (iteration - 1) % per_epoch + 1          # 1..per_epoch
    checks = min(max(checks_per_epoch, 1), per_epoch)
    return within * checks // per_epoch > (within - 1) * checks // per_epoch


def _progress_bar(total):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="it", desc="training", dynamic_ncols=True)


def predict(model, X, batch_size=100):
    """Predicted labels (N,) for inputs ``X`` (N, ...), computed in batches."""
    labels = [np.argmax(model.loss(X[i:i + batch_size]), axis=1)
              for i in range(0, X.shape[0], batch_size)]
    return np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
