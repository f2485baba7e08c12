"""Argument types shared by the commands of every part of cnnkit.

They live in the reference because it is the part every other part may import;
each part's ``commands`` module registers its own subcommands with the
``cnnkit`` dispatcher (:mod:`cnnkit.grader.cli`).
"""
import argparse


def positive_int(text):
    """argparse type: an int >= 1, with a message that shows the bad value."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text!r}")
    return value
