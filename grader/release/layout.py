"""An assignment source folder: where it is, its ``assignment.json``, which files a build takes.

``assignment.json`` says what a build adds to the source's own files:

- ``derived``: release path -> file of :mod:`cnnkit.reference` copied there
  (see :mod:`.derive`);
- ``visible_cases`` (optional): a module whose ``build_cases()`` returns the
  visible checks' inputs and expected values (see :mod:`.visible_cases`);
- ``expected_dir``: where those go (default ``utils/expected``);
- ``instructor_only``: files never copied;
- ``stepper`` (optional): the step-through helper package copied from
  ``cnnkit.widgets`` (see :mod:`.stepper`);
- ``submission_rules`` (optional): ``{"assignment": name, "path": file}``,
  where the grader's rules of a submission of that assignment are written
  for the students' pre-submission check (see
  :mod:`cnnkit.grader.collect.rules`).
"""
import json
from fnmatch import fnmatch
from pathlib import Path

from ..errors import GraderUsageError

#: never copied from a source folder (build products, caches, editor files)
IGNORED = ("__pycache__", "*.pyc", "*.so", "*.c", "*.egg-info", "build", "dist",
           ".ipynb_checkpoints", ".*", "checkpoints")
LAYOUT_FILE = "assignment.json"


class AssignError(ValueError):
    """The assignment source is malformed; the message names the file and line."""


def source_dir():
    """The ``cnn`` assignment source of this checkout."""
    path = Path(__file__).resolve().parents[2] / "assignments" / "source" / "cnn"
    if not (path / "assignment.json").is_file():
        raise GraderUsageError(f"the demo needs the assignment source, not found at {path}; "
                               "run it from a checkout of cnnkit (pip install -e .)")
    return path


def check_stepper(config, path):
    """Check the ``stepper`` entry of ``assignment.json`` at ``path``; return it (or None)."""
    if config is None:
        return None
    keys = {"dir", "entry", "substitute"}
    if not isinstance(config, dict) or not {"dir", "entry"} <= set(config) or set(config) - keys:
        raise AssignError(f"{path}: 'stepper' must be an object with 'dir', 'entry' and "
                          f"optionally 'substitute', got {config!r}")
    config.setdefault("substitute", {})
    return config


def load_layout(source):
    """Read and check ``assignment.json`` of ``source``; return it as a dict."""
    path = Path(source) / LAYOUT_FILE
    if not path.is_file():
        raise AssignError(f"{source} is not an assignment source folder: {path} is missing")
    try:
        layout = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise AssignError(f"{path} is not valid JSON: {err}") from err
    unknown = set(layout) - {"derived", "visible_cases", "expected_dir", "instructor_only",
                             "stepper", "submission_rules"}
    if unknown:
        raise AssignError(f"{path}: unknown keys {sorted(unknown)}")
    layout.setdefault("derived", {})
    layout.setdefault("visible_cases", None)
    layout.setdefault("expected_dir", "utils/expected")
    layout.setdefault("instructor_only", [])
    layout["stepper"] = check_stepper(layout.get("stepper"), path)
    rules = layout.setdefault("submission_rules", None)
    if rules is not None and (not isinstance(rules, dict) or set(rules) != {"assignment", "path"}):
        raise AssignError(f"{path}: 'submission_rules' must be an object with 'assignment' and "
                          f"'path', got {rules!r}")
    if layout["visible_cases"] and not (Path(source) / layout["visible_cases"]).is_file():
        raise AssignError(f"{path}: visible_cases {layout['visible_cases']!r} does not exist")
    return layout


def _ignored(relpath, layout):
    parts = relpath.split("/")
    if any(fnmatch(part, pattern) for part in parts for pattern in IGNORED):
        return True
    if relpath in layout["instructor_only"] or relpath in layout["derived"]:
        return True
    if layout["submission_rules"] and relpath == layout["submission_rules"]["path"]:
        return True
    generated = [layout["expected_dir"]] + ([layout["stepper"]["dir"]] if layout["stepper"] else [])
    return any(relpath.startswith(folder.rstrip("/") + "/") for folder in generated)


def source_files(source, layout):
    """Files of ``source`` that belong in a build, relative and sorted."""
    source = Path(source)
    files = (p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    return sorted(f for f in files if not _ignored(f, layout))
