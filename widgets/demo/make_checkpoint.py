"""Train the small network that ships with the widgets (run once).

The network view's demo uses the committed ``small_convnet.npz`` /
``small_convnet.json`` (a :mod:`cnnkit.reference.checkpoint`, no pickle) and
``cifar_samples.npz`` so that it runs offline anywhere; this script is the one
source of that recipe:

    nice python widgets/demo/make_checkpoint.py /path/to/cifar-10-python.tar.xz

It trains a ``ConvNet`` with three [conv3x3-bn-relu-pool] blocks of 16, 32 and
64 filters and one affine layer (about 35,000 parameters) with the optimiser
settings of ``cnnkit train`` for RECIPE's epochs, keeps the best validation
checkpoint, and saves beside it the mean training image it subtracted
(``mean_image``) and one CIFAR-10 test image of every class (``images`` as
(10, 32, 32, 3) uint8, ``labels``, ``indices`` into ``test_batch``).
"""
import sys
from pathlib import Path

import numpy as np

from cnnkit.reference import (CLASSES, ConvNet, Solver, get_CIFAR10_data, load_CIFAR10,
                              predict, save_checkpoint)
from cnnkit.reference.train import DEFAULT_RECIPE, one_blas_thread

HERE = Path(__file__).resolve().parent
NAME = "small_convnet"
RECIPE = {**DEFAULT_RECIPE, "num_epochs": 3,
          "model": {**DEFAULT_RECIPE["model"], "num_filters": [16, 32, 64]}}
SEED = 0


def main(archive, out_dir=HERE, num_training=49000, num_validation=1000, num_test=1000,
         num_epochs=RECIPE["num_epochs"]):
    """Train, then write the checkpoint and the samples into ``out_dir``; return accuracies."""
    data = get_CIFAR10_data(num_training, num_validation, num_test, subtract_mean=False,
                            root=archive)
    mean_image = data["X_train"].mean(axis=0, dtype=np.float64).astype(np.float32)
    for key in ("X_train", "X_val", "X_test"):
        data[key] -= mean_image
    model = ConvNet(input_dim=data["X_train"].shape[1:], seed=SEED, **RECIPE["model"])
    solver = Solver(model, data, update_rule=RECIPE["update_rule"],
                    optim_config=dict(RECIPE["optim_config"]), lr_decay=RECIPE["lr_decay"],
                    batch_size=RECIPE["batch_size"], num_epochs=num_epochs,
                    checks_per_epoch=RECIPE["checks_per_epoch"],
                    num_train_samples=RECIPE["num_train_samples"], verbose=False,
                    progress=True, seed=SEED)
    with one_blas_thread():
        solver.train()
        val_acc = float(np.mean(predict(model, data["X_val"]) == data["y_val"]))
        test_acc = float(np.mean(predict(model, data["X_test"]) == data["y_test"]))
    spec = {"module": type(model).__module__, "class": type(model).__name__,
            "kwargs": model.config}
    out_dir = Path(out_dir)
    save_checkpoint(out_dir / NAME, model, spec)
    _, _, X_test, y_test = load_CIFAR10(archive)
    indices = np.array([int(np.flatnonzero(y_test == k)[0]) for k in range(len(CLASSES))])
    np.savez_compressed(out_dir / "cifar_samples.npz",
                        images=X_test[indices].transpose(0, 2, 3, 1),
                        labels=y_test[indices], indices=indices, mean_image=mean_image)
    print(f"validation accuracy {val_acc:.3f}, test accuracy {test_acc:.3f} "
          f"(first {len(data['y_test'])} test images); saved {NAME}.npz/.json and "
          "cifar_samples.npz")
    return val_acc, test_acc


if __name__ == "__main__":
    main(sys.argv[1])
