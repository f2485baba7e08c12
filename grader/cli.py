"""The ``cnnkit`` command line: a dispatcher that knows no command of its own.

Each part of cnnkit owns its subcommands and declares a registration function
in the ``cnnkit.commands`` entry-point group (see ``pyproject.toml``):
``register(subparsers)`` adds argparse parsers whose ``func(args)`` returns the
exit status. The dispatcher only collects them and calls the chosen one.
"""
import argparse
import sys
from importlib.metadata import entry_points

GROUP = "cnnkit.commands"


def registrations():
    """The parts' ``register`` functions, in a stable order (by entry-point name)."""
    found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    if not found:
        raise RuntimeError(f"no cnnkit commands are registered (entry-point group {GROUP!r} "
                           "is empty): reinstall cnnkit, e.g. `pip install -e .`")
    loaded = []
    for ep in found:
        try:
            loaded.append(ep.load())
        except ImportError as err:
            raise RuntimeError(f"the commands of {ep.name!r} ({ep.value}) cannot be loaded "
                               f"({err}): reinstall cnnkit, e.g. `pip install -e .`") from err
    return loaded


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cnnkit",
        description="Teaching kit and autograder for convolutional neural networks.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in registrations():
        register(subparsers)
    return parser


def main(argv=None):
    try:
        parser = build_parser()
    except RuntimeError as err:  # stale or broken installation metadata
        print(f"cnnkit: {err}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
