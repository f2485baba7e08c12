"""Student release and solution builds of an assignment, from its one source.

An assignment source folder (``assignments/source/<name>/``, see :mod:`.layout`)
holds notebooks, the student package with solution regions in its ``.py`` files
(:mod:`.regions`) and ``assignment.json``, which names the files derived from the
reference (:mod:`.derive`) and the visible checks' expected values
(:mod:`.visible_cases`); notebooks go through nbgrader (:mod:`.notebooks`).

:func:`build_package` writes the release (``solutions=False``: solution
regions become ``raise NotImplementedError("Implement ...")`` stubs, notebooks
go through nbgrader's own preprocessors) or the solution build
(``solutions=True``: what a student with every answer right would submit).
:func:`sync_derived` writes the derived files into the source folder itself so
its notebooks run in the instructor's checkout. Output is deterministic:
sorted, no timestamps, byte-identical when regenerated.
"""
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .derive import derived_text
from .layout import AssignError, load_layout, source_files
from .notebooks import process_notebook
from .regions import check_no_leak, strip_regions
from .stepper import stepper_files
from .visible_cases import build_cases, npz_bytes

__all__ = ["AssignError", "ReleaseReport", "build_package", "derived_files", "sync_derived"]


@dataclass
class ReleaseReport:
    """What :func:`build_package` wrote, as data.

    Attributes
    ----------
    out : the output folder.
    solutions : whether solutions were kept.
    files : every written file, relative to ``out``, sorted.
    stubs : ``{"path:qualname": message}`` of every NotImplementedError stub.
    derived : ``{release path: reference file}`` of the copied reference files.
    cases : names of the visible-check cases written.
    notebooks : the notebooks written.
    """
    out: Path
    solutions: bool
    files: list = field(default_factory=list)
    stubs: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)
    cases: list = field(default_factory=list)
    notebooks: list = field(default_factory=list)


def derived_files(source, layout=None, generated=None):
    """``{release path: bytes}`` of the reference copies, the expected values and the stepper.

    ``generated(layout)``, if given, adds files that other parts of the grader
    derive (the command line passes the submission rules of
    :mod:`cnnkit.grader.collect.rules`; the builder cannot import them, as the
    grader's steps import the builder).
    """
    layout = layout or load_layout(source)
    files = {}
    for release_path, ref_file in sorted(layout["derived"].items()):
        files[release_path] = derived_text(ref_file, release_path, layout["derived"]).encode()
    for name, arrays in sorted(build_cases(source, layout).items()):
        files[f"{layout['expected_dir'].rstrip('/')}/{name}.npz"] = npz_bytes(arrays)
    files.update(stepper_files(layout))
    if generated is not None:
        files.update(generated(layout))
    return files


def _prepare_out(out, overwrite):
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise AssignError(f"output folder {out} exists and is not empty; choose a new "
                              "folder or pass overwrite=True (--force) to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_package(source, out, solutions=False, overwrite=False, generated=None):
    """Write the student release (or the solution build) of ``source`` to ``out``.

    Parameters
    ----------
    source : assignment source folder (with ``assignment.json``).
    out : output folder; must be new or empty unless ``overwrite``.
    solutions : False for the student release (stubs, no hidden tests); True
        for a correct submission (solutions kept, markers and hidden tests gone).
    overwrite : delete ``out`` first if it holds anything.
    generated : callable adding derived files, see :func:`derived_files`.

    Returns
    -------
    ReleaseReport
    """
    source = Path(source)
    layout = load_layout(source)
    files = {}
    report = ReleaseReport(out=Path(out), solutions=solutions)
    for relpath in source_files(source, layout):
        path = source / relpath
        if relpath.endswith(".ipynb"):
            files[relpath] = process_notebook(path, relpath, solutions).encode()
            report.notebooks.append(relpath)
        elif relpath.endswith(".py"):
            text, stubs = strip_regions(path.read_text(), relpath, solutions)
            files[relpath] = text.encode()
            report.stubs.update({f"{relpath}:{q}": m for q, m in stubs.items()})
        else:
            files[relpath] = path.read_bytes()
    files.update(derived_files(source, layout, generated))
    report.derived = dict(sorted(layout["derived"].items()))
    report.cases = sorted(Path(p).stem for p in files
                          if p.startswith(layout["expected_dir"].rstrip("/") + "/"))
    out = _prepare_out(out, overwrite)
    for relpath in sorted(files):
        if not solutions and not relpath.endswith(".npz"):
            check_no_leak(relpath, files[relpath])
        target = out / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[relpath])
    report.files = sorted(files)
    return report


def sync_derived(source, generated=None):
    """Write the derived files into ``source`` itself, so its notebooks run there.

    Returns the written paths, relative to ``source``, sorted. The files carry a
    "do not edit" header and are kept out of git by ``assignments/.gitignore``.
    """
    source = Path(source)
    files = derived_files(source, generated=generated)
    for relpath, data in files.items():
        target = source / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
    return sorted(files)
