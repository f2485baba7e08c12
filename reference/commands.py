"""``cnnkit data`` and ``cnnkit train``."""


def register(subparsers):
    pass
