"""The reference's subcommands: ``cnnkit data``, ``cnnkit train`` (thin layers over data.py and
train.py) and ``cnnkit bench``, registered with the ``cnnkit`` dispatcher."""
import sys
from pathlib import Path


def register(subparsers):
    from .bench import command as bench_command
    from .command_line import positive_int
    data = subparsers.add_parser(
        "data", help="get CIFAR-10 (download, or from a local archive or folder)",
        description="Make CIFAR-10 available to cnnkit. Without --from, downloads the official "
                    "archive and checks its md5.")
    data.add_argument("--from", dest="source", metavar="PATH",
                      help="a local cifar-10-python.tar.gz/.tar.xz or cifar-10-batches-py folder")
    data.add_argument("--dest", metavar="DIR", help="where to put it (default: $CNNKIT_CACHE "
                      "or ~/.cache/cnnkit)")
    data.set_defaults(func=run_data)

    train = subparsers.add_parser(
        "train", help="train the reference ConvNet on CIFAR-10",
        description="Train the default recipe ([conv-bn-relu-pool]x3 - affine, Adam) on CIFAR-10, "
                    "print validation and test accuracy, and save a checkpoint and plots.")
    train.add_argument("--data", metavar="PATH", help="CIFAR-10 archive or folder "
                       "(default: $CNNKIT_DATA, then the cache filled by `cnnkit data`)")
    train.add_argument("--out", metavar="DIR", default="runs/train",
                       help="where to write model.npz/.json, metrics.json and training.png "
                       "(default: runs/train)")
    train.add_argument("--epochs", type=positive_int, help="override the recipe's epochs")
    train.add_argument("--num-training", type=positive_int, default=49000,
                       help="training images (default 49000)")
    train.add_argument("--num-validation", type=positive_int, default=1000,
                       help="validation images, taken after the training images (default 1000)")
    train.add_argument("--num-test", type=positive_int, default=1000,
                       help="test images (default 1000)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.set_defaults(func=run_train)
    bench_command.register(subparsers)


def run_data(args):
    from .data import DataError, fetch_cifar10
    try:
        folder = fetch_cifar10(source=args.source, dest=args.dest)
    except DataError as err:
        print(f"cnnkit data: {err}", file=sys.stderr)
        return 1
    print(f"CIFAR-10 is ready in {folder}")
    return 0


def run_train(args):
    from .data import DataError
    from .train import DEFAULT_RECIPE, train
    recipe = dict(DEFAULT_RECIPE)
    if args.epochs:
        recipe["num_epochs"] = args.epochs
    try:
        metrics = train(out_dir=args.out, root=args.data, recipe=recipe,
                        num_training=args.num_training, num_validation=args.num_validation,
                        num_test=args.num_test, seed=args.seed)
    except DataError as err:
        print(f"cnnkit train: {err}", file=sys.stderr)
        return 1
    out = Path(args.out)
    reached = metrics["seconds_to_65"]
    print(f"validation accuracy {metrics['val_acc']:.3f}, test accuracy {metrics['test_acc']:.3f}, "
          f"{metrics['wall_seconds']:.0f} s"
          + (f"; 65% reached after {reached:.0f} s" if reached is not None else
             "; 65% validation accuracy was not reached"))
    print(f"checkpoint {out / 'model.npz'} + {out / 'model.json'}, metrics {out / 'metrics.json'}, "
          f"curves {out / 'training.png'}")
    return 0
