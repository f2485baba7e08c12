"""Time to 65% validation accuracy: ``cnnkit train``'s default recipe beside PyTorch.

Both runs use the same data split, architecture, initialisation scheme, update
rule, batch size, learning-rate schedule and accuracy checks (all read from
``cnnkit.reference.train.DEFAULT_RECIPE``), in one process, one after the
other, with the same thread count. Needs ``pip install torch==2.13.0``.

    python benchmarks/time_to_accuracy.py --data PATH [--json OUT] [--only cnnkit|torch]
"""
import argparse
import json
import os
import resource
import time

import numpy as np

from cnnkit.reference.bench.measure import machine_info
from cnnkit.reference.data import get_CIFAR10_data
from cnnkit.reference.solver import check_due
from cnnkit.reference.train import DEFAULT_RECIPE, TARGET_ACCURACY, train


def torch_model(recipe, input_dim, num_classes=10):
    import torch.nn as nn
    spec = recipe["model"]
    layers, channels, (_, H, W) = [], input_dim[0], input_dim
    for filters in spec["num_filters"]:
        size = spec["filter_size"]
        layers += [nn.Conv2d(channels, filters, size, padding=(size - 1) // 2),
                   nn.BatchNorm2d(filters, eps=1e-5, momentum=0.1), nn.ReLU()]
        if spec["pool"]:
            layers.append(nn.MaxPool2d(2, 2))
            H, W = H // 2, W // 2
        channels = filters
    layers += [nn.Flatten(), nn.Linear(channels * H * W, num_classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():  # He initialisation and zero biases, as the reference
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return model


def train_torch(data, recipe, seed=0):
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(os.cpu_count())
    X_train, y_train = torch.from_numpy(data["X_train"]), torch.from_numpy(data["y_train"])
    X_val, y_val = torch.from_numpy(data["X_val"]), torch.from_numpy(data["y_val"])
    model = torch_model(recipe, data["X_train"].shape[1:])
    lr = recipe["optim_config"]["learning_rate"]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    N, batch = X_train.shape[0], recipe["batch_size"]
    per_epoch = N // batch
    history, reached = [], None
    start = time.perf_counter()
    for it in range(1, recipe["num_epochs"] * per_epoch + 1):
        model.train()
        idx = torch.from_numpy(rng.choice(N, batch, replace=False))
        opt.zero_grad()
        loss_fn(model(X_train[idx]), y_train[idx]).backward()
        opt.step()
        if it % per_epoch == 0:
            for group in opt.param_groups:
                group["lr"] *= recipe["lr_decay"]
        if check_due(it, per_epoch, recipe["checks_per_epoch"]):
            model.eval()
            with torch.no_grad():       # the Solver's two checks: a train sample, then val
                sample = torch.from_numpy(rng.choice(N, recipe["num_train_samples"],
                                                     replace=False))
                (model(X_train[sample]).argmax(1) == y_train[sample]).float().mean()
                acc = float((model(X_val).argmax(1) == y_val).float().mean())
            history.append((it, acc))
            if acc >= TARGET_ACCURACY and reached is None:
                reached = time.perf_counter() - start
    return {"val_acc": max(a for _, a in history), "seconds_to_65": reached,
            "wall_seconds": time.perf_counter() - start, "history": history}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="CIFAR-10 archive or folder (default: CNNKIT_DATA/cache)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--only", choices=["cnnkit", "torch"], help="run one side only")
    args = parser.parse_args(argv)
    results = {"machine": machine_info(threads=os.cpu_count()), "recipe": DEFAULT_RECIPE}
    if args.only != "torch":
        metrics = train(root=args.data, progress=False, verbose=False)
        results["cnnkit"] = {k: metrics[k] for k in ("val_acc", "test_acc", "wall_seconds",
                                                    "seconds_to_65")}
        results["cnnkit"]["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("cnnkit:", results["cnnkit"])
    if args.only != "cnnkit":
        import torch
        results["machine"]["torch"] = torch.__version__
        results["machine"]["load_average_before_torch"] = os.getloadavg()
        data = get_CIFAR10_data(root=args.data)
        results["torch"] = train_torch(data, DEFAULT_RECIPE)
        print("torch:", {k: v for k, v in results["torch"].items() if k != "history"})
    if "cnnkit" in results and "torch" in results and results["torch"]["seconds_to_65"]:
        ours, theirs = results["cnnkit"]["seconds_to_65"], results["torch"]["seconds_to_65"]
        results["ratio_seconds_to_65"] = None if ours is None else ours / theirs
        print("ratio cnnkit/torch seconds to 65%:", results["ratio_seconds_to_65"])
    results["machine"]["load_average_at_end"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
