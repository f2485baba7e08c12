"""The ``cnnkit`` command line: a thin layer over the Python API.

Each subcommand lives in its own module, which exposes ``register(subparsers)``
adding an argparse parser whose ``func(args)`` returns the exit status.
"""
import argparse
import importlib
import sys

COMMAND_MODULES = [
    "cnnkit.reference.commands",
    "cnnkit.reference.bench_command",
    "cnnkit.grader.assign_command",
    "cnnkit.grader.grade_command",
    "cnnkit.grader.course_command",
    "cnnkit.widgets.commands",
]


def positive_int(text):
    """argparse type: an int >= 1, with a message that shows the bad value."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cnnkit",
        description="Teaching kit and autograder for convolutional neural networks.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
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
