"""An assignment source folder: where it is, its ``assignment.json``, which files a build takes.

``assignment.json`` says what a build adds to the source's own files:

- ``derived``: release path -> file of :mod:`cnnkit.reference` copied there
  (see :mod:`.derive`);
- ``visible_cases`` (optional): a module whose ``build_cases()`` returns the
  visible checks' inputs and expected values (see :mod:`.visible_cases`);
- ``expected_dir``: where those go (default ``utils/expected``);
- ``instructor_only``: files never copied.
"""
import json
from fnmatch import fnmatch
from pathlib import Path


#: never copied from a source folder (build products, caches, editor files)
IGNORED = ("__pycache__", "*.pyc", "*.so", "*.c", "*.egg-info", "build", "dist",
           ".ipynb_checkpoints", ".*", "checkpoints")
LAYOUT_FILE = "assignment.json"


class AssignError(ValueError):
    """The assignment source is malformed; the message names the file and line."""


def load_layout(source):
    """Read and check ``assignment.json`` of ``source``; return it as a dict."""
    path = Path(source) / LAYOUT_FILE
    if not path.is_file():
        raise AssignError(f"{source} is not an assignment source folder: {path} is missing")
    try:
        layout = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise AssignError(f"{path} is not valid JSON: {err}") from err
    unknown = set(layout) - {"derived", "visible_cases", "expected_dir", "instructor_only"}
    if unknown:
        raise AssignError(f"{path}: unknown keys {sorted(unknown)}")
    layout.setdefault("derived", {})
    layout.setdefault("visible_cases", None)
    layout.setdefault("expected_dir", "utils/expected")
    layout.setdefault("instructor_only", [])
    if layout["visible_cases"] and not (Path(source) / layout["visible_cases"]).is_file():
        raise AssignError(f"{path}: visible_cases {layout['visible_cases']!r} does not exist")
    return layout


def _ignored(relpath, layout):
    parts = relpath.split("/")
    if any(fnmatch(part, pattern) for part in parts for pattern in IGNORED):
        return True
    if relpath in layout["instructor_only"] or relpath in layout["derived"]:
        return True
    return relpath.startswith(layout["expected_dir"].rstrip("/") + "/")


def source_files(source, layout):
    """Files of ``source`` that belong in a build, relative and sorted."""
    source = Path(source)
    files = (p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    return sorted(f for f in files if not _ignored(f, layout))
