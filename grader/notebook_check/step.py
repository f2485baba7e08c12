"""Pipeline step "notebook check": report edited or deleted test and locked cells.

The hidden tests call the student's ``.py`` modules, so notebook cells earn
nothing here; but a student who deletes or edits a test cell or a locked cell
(their ``grade_id`` in nbgrader's cell metadata) is told, and so is the
instructor. The reference copies are the release's notebooks (the
instructor's, built from the assignment source once per batch by
:func:`instructor_cells`), never the student's. A notebook that is missing or
is not valid JSON is reported the same way.
"""
import json
import tempfile
from functools import lru_cache
from pathlib import Path

from ..files import is_regular


def _protected(nb):
    """``{grade_id: source}`` of the test and locked cells of a notebook dict."""
    cells = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if not isinstance(meta, dict) or not meta.get("grade_id"):
            continue
        if (meta.get("grade") and not meta.get("solution")) or meta.get("locked"):
            source = cell.get("source", "")
            cells[meta["grade_id"]] = "".join(source) if isinstance(source, list) else str(source)
    return cells


def instructor_cells(source):
    """``{notebook: {grade_id: source}}`` from the release built from the assignment ``source``.

    Cached per process while the source notebooks are unchanged.
    """
    source = Path(source)
    stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in source.glob("*.ipynb")))
    return _release_cells(str(source), stamp)


@lru_cache(maxsize=4)
def _release_cells(source, stamp):
    from ..release.build import build_package
    with tempfile.TemporaryDirectory() as tmp:
        report = build_package(source, Path(tmp) / "release", solutions=False)
        return {name: _protected(json.loads((Path(tmp) / "release" / name).read_text()))
                for name in report.notebooks}


def check(folder, reference):
    """Findings for the notebooks in ``folder``: a list of dicts, empty when all is intact."""
    findings = []
    for name, cells in sorted(reference.items()):
        path = Path(folder) / name
        if not is_regular(path):
            findings.append({"notebook": name, "grade_id": "", "problem": "notebook missing"})
            continue
        try:
            mine = _protected(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as err:
            findings.append({"notebook": name, "grade_id": "",
                             "problem": f"not a readable notebook ({type(err).__name__})"})
            continue
        for grade_id, source in cells.items():
            if grade_id not in mine:
                findings.append({"notebook": name, "grade_id": grade_id,
                                 "problem": "cell deleted (or its nbgrader metadata removed)"})
            elif mine[grade_id].strip() != source.strip():
                findings.append({"notebook": name, "grade_id": grade_id, "problem": "cell edited"})
    return findings


def describe(findings):
    """One line for the report: which protected cells changed."""
    return "; ".join(f"{f['notebook']}" + (f" cell {f['grade_id']!r}" if f["grade_id"] else "")
                     + f": {f['problem']}" for f in findings)


def run(ctx, work):
    """Step: record notebook findings in ``work.notebook_edits`` (no effect on scores)."""
    if ctx.notebooks:
        work.notebook_edits = check(work.submission.folder, ctx.notebooks)
    return work
