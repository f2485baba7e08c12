"""Walking a student's folder safely: iteratively, regular files only, links never followed.

A submission may hold FIFOs (opening one blocks), device links, symlinks to the
grader's secrets, or folders nested thousands of levels deep (``os.walk``
recurses). :func:`regular_files` yields only regular files reached without
following a link, breadth first, down to ``MAX_DEPTH`` levels.
"""
import os
import stat
from collections import deque

MAX_DEPTH = 32
#: largest .py file of a submission copied into a sandbox (larger ones are not run)
MAX_SOURCE_BYTES = 2 << 20
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}


def regular_files(folder, max_depth=MAX_DEPTH):
    """Sorted relative paths of the regular files under ``folder`` (see module docstring)."""
    found = []
    queue = deque([("", 0)])
    while queue:
        rel, depth = queue.popleft()
        try:
            entries = sorted(os.scandir(os.path.join(folder, rel)), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(rel, entry.name)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                if entry.name not in SKIP_DIRS and depth + 1 < max_depth:
                    queue.append((path, depth + 1))
            elif stat.S_ISREG(mode):
                found.append(path)
    return sorted(found)


def is_regular(path):
    """True when ``path`` is a regular file itself (not a link, FIFO or device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
