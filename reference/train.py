"""The default CIFAR-10 training recipe behind ``cnnkit train``."""
import contextlib
import json
import os
import time
from pathlib import Path

import numpy as np

from .checkpoint import save_checkpoint
from .convnet import ConvNet
from .data import get_CIFAR10_data
from .solver import Solver, predict

TARGET_ACCURACY = 0.65

DEFAULT_RECIPE = {
    "model": {"num_filters": [32, 64, 128], "filter_size": 3, "pool": True,
              "hidden_dims": [], "use_batchnorm": True, "weight_scale": "he", "reg": 0.0},
    "update_rule": "adam",
    "optim_config": {"learning_rate": 2e-3},
    "lr_decay": 0.5,
    "batch_size": 64,
    "num_epochs": 2,
    "checks_per_epoch": 8,
    "num_train_samples": 1000,
}


def train(out_dir=None, root=None, recipe=None, num_training=49000, num_validation=1000,
          num_test=1000, seed=0, progress=True, verbose=True):
    """Train the recipe's ConvNet on CIFAR-10; return a metrics dict.

    Accuracy is checked ``checks_per_epoch`` times an epoch so that
    ``seconds_to_65``, the wall time until validation accuracy first reaches
    65%, is measured finely (checks are included in the time). With ``out_dir``
    writes ``model.npz``/``model.json`` (the best checkpoint), ``metrics.json``
    and ``training.png``.
    """
    recipe = {**DEFAULT_RECIPE, **(recipe or {})}
    data = get_CIFAR10_data(num_training, num_validation, num_test, root=root)
    model = ConvNet(input_dim=data["X_train"].shape[1:], seed=seed, **recipe["model"])
    reached = {}
    start = time.perf_counter()

    def on_check(solver):
        if solver.val_acc_history[-1] >= TARGET_ACCURACY and "seconds" not in reached:
            reached["seconds"] = time.perf_counter() - start
        return False

    solver = Solver(model, data, update_rule=recipe["update_rule"],
                    optim_config=dict(recipe["optim_config"]), lr_decay=recipe["lr_decay"],
                    batch_size=recipe["batch_size"], num_epochs=recipe["num_epochs"],
                    checks_per_epoch=recipe["checks_per_epoch"],
                    num_train_samples=recipe["num_train_samples"], verbose=verbose,
                    progress=progress, on_check=on_check, seed=seed)
    with one_blas_thread():
        solver.train()
        wall = time.perf_counter() - start
        val_acc = float(np.mean(predict(model, data["X_val"]) == data["y_val"]))
        test_acc = float(np.mean(predict(model, data["X_test"]) == data["y_test"]))
    metrics = {
        "val_acc": val_acc, "test_acc": test_acc, "wall_seconds": round(wall, 2),
        "seconds_to_65": None if "seconds" not in reached else round(reached["seconds"], 2),
        "train_acc": solver.train_acc_history[-1] if solver.train_acc_history else None,
        "iterations": solver.iteration, "recipe": recipe,
        "num_training": num_training, "seed": seed, "cpu_count": os.cpu_count(),
        "history": {"loss": solver.loss_history, "train_acc": solver.train_acc_history,
                    "val_acc": solver.val_acc_history, "check_iterations": solver.check_iterations,
                    "iterations_per_epoch": max(num_training // recipe["batch_size"], 1)},
    }
    if out_dir is not None:
        write_outputs(Path(out_dir), model, metrics)
    return metrics


def one_blas_thread():
    """Pin numpy's BLAS to one thread, if threadpoolctl is available.

    The fast layers then split their work among their own threads without
    switching BLAS's thread count on every call, which costs more than it saves
    on small matrices.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def write_outputs(out_dir, model, metrics):
    """Save the checkpoint, ``metrics.json`` and ``training.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = {"module": type(model).__module__, "class": type(model).__name__,
            "kwargs": model.config}
    save_checkpoint(out_dir / "model", model, spec)
    tmp = out_dir / "metrics.json.tmp"
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    os.replace(tmp, out_dir / "metrics.json")
    plot_history(metrics["history"], out_dir / "training.png")


def plot_history(history, path):
    """Plot the loss per iteration and the accuracies per epoch into ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_epoch = history["iterations_per_epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    loss = np.asarray(history["loss"])
    ax_loss.plot(np.arange(1, len(loss) + 1) / per_epoch, loss, lw=0.5, alpha=0.5, label="batch")
    if len(loss) >= 50:
        smooth = np.convolve(loss, np.ones(50) / 50, mode="valid")
        ax_loss.plot(np.arange(50, len(loss) + 1) / per_epoch, smooth, label="mean of 50")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Loss")
    ax_loss.legend()
    epochs = np.asarray(history["check_iterations"]) / per_epoch
    ax_acc.plot(epochs, history["train_acc"], "o-", label="train")
    ax_acc.plot(epochs, history["val_acc"], "o-", label="validation")
    ax_acc.axhline(TARGET_ACCURACY, color="grey", ls="--", lw=1, label="65% target")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1))
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
