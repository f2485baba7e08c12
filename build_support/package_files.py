"""Which files of a part's folder go into the wheel: all of them but what git ignores.

The ``.gitignore`` files of the repository are the one list of build products, caches and
derived files (``assignments/.gitignore`` names the files ``cnnkit assign --sync`` writes),
so a data file the sources track is shipped without being named here. Only the pattern
forms those files use are understood: ``name``, ``*.ext``, ``dir/``, ``/anchored`` and
``path/inside/the/folder``.
"""
import os
from fnmatch import fnmatch
from pathlib import Path


def read_patterns(gitignore):
    """``(pattern, anchored, directory_only)`` of each rule of a ``.gitignore`` file."""
    rules = []
    path = Path(gitignore)
    if not path.is_file():
        return rules
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("!"):
            continue
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        rules.append((line.lstrip("/"), anchored, directory_only))
    return rules


def is_ignored(relpath, is_dir, rules):
    """Whether ``relpath`` (posix, relative to the .gitignore's folder) is ignored."""
    parts = relpath.split("/")
    for pattern, anchored, directory_only in rules:
        for depth in range(1, len(parts) + 1):
            leading_dir = depth < len(parts) or is_dir
            if directory_only and not leading_dir:
                continue
            candidate = "/".join(parts[:depth]) if anchored else parts[depth - 1]
            if fnmatch(candidate, pattern):
                return True
    return False


class IgnoreRules:
    """The rules of every ``.gitignore`` from the repository root down to a path."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self._cache = {}

    def _rules(self, folder):
        if folder not in self._cache:
            self._cache[folder] = read_patterns(folder / ".gitignore")
        return self._cache[folder]

    def ignored(self, path):
        path = Path(path).resolve()
        parts = path.relative_to(self.root).parts
        for i in range(len(parts)):
            rel = "/".join(parts[i:])
            if is_ignored(rel, path.is_dir(), self._rules(self.root.joinpath(*parts[:i]))):
                return True
        return False


def data_files(root, package_dir, subpackage_dirs=()):
    """Files under ``package_dir`` that the wheel carries as data, relative to it.

    The package's modules are found by setuptools, and its subpackages (``subpackage_dirs``)
    list their own data; every other file that git does not ignore is data (notebooks,
    arrays, templates, and the ``.py`` files of folders that are not packages, such as the
    course template's student package).
    """
    rules = IgnoreRules(root)
    package_dir = Path(root, package_dir).resolve()
    skip = {Path(root, d).resolve() for d in subpackage_dirs}
    found = []
    for folder, dirs, files in os.walk(package_dir):
        folder = Path(folder)
        dirs[:] = sorted(d for d in dirs
                         if (folder / d).resolve() not in skip and not rules.ignored(folder / d))
        for name in sorted(files):
            path = folder / name
            if (name.endswith(".py") and folder == package_dir) or rules.ignored(path):
                continue
            found.append(path.relative_to(package_dir).as_posix())
    return found
