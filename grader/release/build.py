"""Student release and solution builds of an assignment, from its one source.

An assignment source folder (``assignments/source/<name>/``) holds notebooks,
the student package with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions
in its ``.py`` files, and ``assignment.json``, which says what to add:

- ``derived``: release path -> file of :mod:`cnnkit.reference` copied there,
  with its relative imports rewritten for the release layout and a "do not
  edit" header (the prerequisites and the fast layers are never retyped);
- ``visible_cases`` (optional): a module whose ``build_cases()`` returns the
  visible checks' inputs and expected values, computed by the reference and
  written as ``<expected_dir>/<case>.npz`` (no pickle);
- ``instructor_only``: files never copied.

:func:`build_package` writes the release (``solutions=False``: solution
regions become ``raise NotImplementedError("Implement ...")`` stubs, notebooks
go through nbgrader's own preprocessors) or the solution build
(``solutions=True``: what a student with every answer right would submit).
:func:`sync_derived` writes the derived files into the source folder itself so
its notebooks run in the instructor's checkout. Output is deterministic:
sorted, no timestamps, byte-identical when regenerated.
"""
import ast
import importlib.util
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import numpy as np

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
#: strings that must never reach a student release
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: never copied from a source folder (build products, caches, editor files)
IGNORED = ("__pycache__", "*.pyc", "*.so", "*.c", "*.egg-info", "build", "dist",
           ".ipynb_checkpoints", ".*", "checkpoints")
LAYOUT_FILE = "assignment.json"


class AssignError(ValueError):
    """The assignment source is malformed; the message names the file and line."""


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


# ---------------------------------------------------------------- layout

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


def reference_dir():
    """Folder of the installed :mod:`cnnkit.reference` package."""
    spec = importlib.util.find_spec("cnnkit.reference")
    return Path(spec.origin).parent


# ---------------------------------------------------------------- derived files

_RELATIVE = re.compile(r"^(?P<indent>[ \t]*)from[ \t]+(?P<dots>\.+)(?P<mod>[\w.]*)[ \t]+"
                       r"(?P<kw>c?import)[ \t]+(?P<names>.+)$")
_ABSOLUTE = re.compile(r"^[ \t]*(from|import)[ \t]+cnnkit\b")


def _module_targets(derived):
    """Reference module name -> (release package, release module name)."""
    targets = {}
    for release_path, ref_file in derived.items():
        package, _, filename = release_path.rpartition("/")
        targets[Path(ref_file).stem] = (package.replace("/", "."), Path(filename).stem)
    return targets


def _import_line(indent, package, here, module, names, kw):
    """One import of ``names`` from release module ``package.module``, seen from ``here``."""
    origin = f".{module}" if package == here else f"{package}.{module}"
    return f"{indent}from {origin} {kw} {names}"


def rewrite_imports(text, ref_file, release_path, derived):
    """Rewrite a reference module's relative imports for its place in the release.

    ``from .layers import x`` in a file bound for ``utils/`` becomes
    ``from nndl.layers import x``; within one package it stays relative (with
    the release's module name, e.g. ``data`` -> ``data_utils``). Raises
    AssignError for an import of a module the release does not ship.
    """
    targets = _module_targets(derived)
    here = release_path.rpartition("/")[0].replace("/", ".")
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
        if _ABSOLUTE.match(line):
            raise AssignError(f"reference/{ref_file}:{number} imports cnnkit by absolute name; "
                              f"the release cannot ship it: {line.strip()}")
        match = _RELATIVE.match(line)
        if not match:
            lines.append(line)
            continue
        indent, mod, kw, names = match["indent"], match["mod"], match["kw"], match["names"]
        multi_line = names.strip().startswith("(") and ")" not in names
        if match["dots"] != "." or "." in mod or (multi_line and not mod):
            raise AssignError(f"reference/{ref_file}:{number}: cannot rewrite this import for "
                              f"the release (use one line, `from .module import names`): "
                              f"{line.strip()}")
        if mod:
            if mod not in targets:
                raise AssignError(
                    f"reference/{ref_file}:{number} imports .{mod}, which the release does not "
                    f"ship; add it to 'derived' in {LAYOUT_FILE} or remove the import")
            package, module = targets[mod]
            lines.append(_import_line(indent, package, here, module, names, kw))
            continue
        for name in (n.strip() for n in names.split(",")):
            imported, _, alias = (part.strip() for part in name.partition(" as "))
            if imported not in targets:
                raise AssignError(
                    f"reference/{ref_file}:{number} imports .{imported}, which the release does "
                    f"not ship; add it to 'derived' in {LAYOUT_FILE} or remove the import")
            package, module = targets[imported]
            alias = alias or imported
            suffix = "" if alias == module else f" as {alias}"
            origin = "." if package == here else package
            lines.append(f"{indent}from {origin} import {module}{suffix}")
    return "\n".join(lines)


def derived_text(ref_file, release_path, derived, ref_dir=None):
    """Text of the release file ``release_path`` derived from ``reference/<ref_file>``."""
    path = Path(ref_dir or reference_dir()) / ref_file
    if not path.is_file():
        raise AssignError(f"{LAYOUT_FILE} derives {release_path} from reference/{ref_file}, "
                          f"which does not exist ({path})")
    module = "cnnkit.reference." + Path(ref_file).stem
    header = (f"# Generated from {module} ({ref_file}) by `cnnkit assign`; do not edit.\n"
              "# Change the reference and regenerate instead.\n")
    return header + rewrite_imports(path.read_text(), ref_file, release_path, derived)


# ---------------------------------------------------------------- solution regions in .py

def _functions(tree):
    """(qualname, first line, last line, docstring) of every function, outer ones first."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((name, child.lineno, child.end_lineno,
                                  ast.get_docstring(child) or ""))
                visit(child, name + ".")
    visit(tree, "")
    return found


def _stub_message(functions, line, relpath):
    """Message of the NotImplementedError replacing the region starting at ``line``."""
    enclosing = [f for f in functions if f[1] < line <= f[2]]
    if not enclosing:
        raise AssignError(f"{relpath}:{line}: a solution region must be inside a function "
                          "(its stub raises NotImplementedError naming that function)")
    qualname, _, _, doc = max(enclosing, key=lambda f: f[1])
    summary = doc.strip().split("\n\n")[0].replace("\n", " ").strip().rstrip(".")
    what = (summary[:1].lower() + summary[1:]) if summary else "see the comments around this stub"
    return qualname, f"Implement {qualname} in {relpath}: {what}."


def strip_regions(text, relpath, solutions):
    """Process the solution and hidden-test regions of one ``.py`` file.

    Parameters
    ----------
    text : the source file's text.
    relpath : its path in the assignment (for messages), e.g. ``nndl/cnn.py``.
    solutions : keep the solution code (dropping only the marker lines) if
        True; otherwise replace each region with ``# YOUR CODE HERE`` and a
        ``raise NotImplementedError("Implement <function> in <file>: <what>.")``
        at the region's indentation, ``<what>`` being the first sentence of the
        function's docstring.

    Returns
    -------
    (new text, {qualname: message} of the stubs written).

    Hidden-test regions are removed in both modes.
    """
    try:
        functions = _functions(ast.parse(text, filename=relpath))
    except SyntaxError as err:
        raise AssignError(f"{relpath}:{err.lineno}: not valid Python: {err.msg}") from err
    out, stubs, region = [], {}, None
    for number, line in enumerate(text.split("\n"), 1):
        marker = line.strip()
        if marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if region:
                raise AssignError(f"{relpath}:{number}: {marker!r} inside the region opened "
                                  f"at line {region[1]}; regions cannot nest")
            region = (marker, number)
            if marker == BEGIN_SOLUTION and not solutions:
                indent = line[:len(line) - len(line.lstrip())]
                qualname, message = _stub_message(functions, number, relpath)
                stubs[qualname] = message
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({message!r})"]
        elif marker in (END_SOLUTION, END_HIDDEN):
            expected = BEGIN_SOLUTION if marker == END_SOLUTION else BEGIN_HIDDEN
            if not region or region[0] != expected:
                raise AssignError(f"{relpath}:{number}: {marker!r} without a matching {expected!r}")
            region = None
        elif any(m in line for m in LEAK_MARKERS):
            raise AssignError(f"{relpath}:{number}: malformed region marker (write it alone on "
                              f"its line, e.g. {BEGIN_SOLUTION!r}): {line.strip()}")
        elif region is None or (region[0] == BEGIN_SOLUTION and solutions):
            out.append(line)
    if region:
        raise AssignError(f"{relpath}:{region[1]}: {region[0]!r} is never closed")
    new_text = "\n".join(out)
    try:
        ast.parse(new_text, filename=relpath)
    except SyntaxError as err:
        raise AssignError(f"{relpath}: the processed file is not valid Python (line "
                          f"{err.lineno}: {err.msg}); check the region markers' indentation") from err
    return new_text, stubs


# ---------------------------------------------------------------- notebooks

#: what a notebook solution region becomes; nbgrader_config.py sets the same stub
NOTEBOOK_STUB = ("# YOUR CODE HERE\n"
                 "raise NotImplementedError('Write your code in this cell, replacing these two "
                 "lines (see the instructions above it)')")


def _release_preprocessors():
    """nbgrader's own generate_assignment steps, minus the gradebook (SaveCells)."""
    from nbgrader import preprocessors as p
    clear = p.ClearSolutions(code_stub={"python": NOTEBOOK_STUB})
    return [p.LockCells(), clear, p.ClearOutput(), p.CheckCellMetadata(),
            p.ComputeChecksums(), p.ClearHiddenTests(), p.ClearMarkScheme(),
            p.ComputeChecksums(), p.CheckCellMetadata()]


def _strip_marker_lines(source):
    keep = [line for line in source.split("\n")
            if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
    return "\n".join(keep)


def process_notebook(path, relpath, solutions):
    """Release (or solved-submission) text of the source notebook at ``path``.

    The release goes through nbgrader's generate_assignment preprocessors. With
    ``solutions`` the result is that release with each solution cell's source
    replaced by the source cell minus its marker lines: what a student with
    every answer right would hand in.
    """
    import nbformat
    try:
        source_nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # nbformat raises several unrelated types
        raise AssignError(f"{relpath} is not a readable notebook: {err}") from err
    if any("id" not in cell for cell in source_nb.cells):
        raise AssignError(f"{relpath}: every cell needs an id (nbformat 4.5) so that the "
                          "release is byte-identical when regenerated; open and save it in "
                          "Jupyter to add them")
    nb = nbformat.from_dict(json.loads(json.dumps(source_nb)))
    resources = {}
    try:
        for step in _release_preprocessors():
            nb, resources = step.preprocess(nb, resources)
    except Exception as err:  # nbgrader raises RuntimeError/ValueError with its reason
        raise AssignError(f"{relpath}: nbgrader rejected the notebook: {err}") from err
    if solutions:
        originals = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source_nb.cells
                     if c.metadata.get("nbgrader", {}).get("solution")}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in originals:
                cell.source = _strip_marker_lines(originals[grade_id])
    return nbformat.writes(nb) + "\n"


# ---------------------------------------------------------------- expected values

def npz_bytes(arrays):
    """Bytes of an ``.npz`` of ``arrays`` (name -> ndarray) that never vary.

    ``np.savez`` stamps each member with the current time; this writes the
    members in sorted order with a fixed timestamp, without pickle.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            if array.dtype == object:
                raise AssignError(f"visible case value {name!r} is an object array; "
                                  "use numeric arrays only")
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def build_cases(source, layout):
    """Run ``build_cases()`` of the source's visible-cases module; return its dict."""
    if not layout["visible_cases"]:
        return {}
    path = Path(source) / layout["visible_cases"]
    spec = importlib.util.spec_from_file_location("_cnnkit_visible_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "build_cases"):
        raise AssignError(f"{path} defines no build_cases() function")
    cases = module.build_cases()
    for name, arrays in cases.items():
        if not re.fullmatch(r"\w+", name) or not isinstance(arrays, dict):
            raise AssignError(f"{path}: case {name!r} must have a plain name and a dict of arrays")
    return cases


# ---------------------------------------------------------------- packages

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


def derived_files(source, layout=None):
    """``{release path: bytes}`` of the reference copies and the expected values."""
    layout = layout or load_layout(source)
    files = {}
    for release_path, ref_file in sorted(layout["derived"].items()):
        files[release_path] = derived_text(ref_file, release_path, layout["derived"]).encode()
    for name, arrays in sorted(build_cases(source, layout).items()):
        files[f"{layout['expected_dir'].rstrip('/')}/{name}.npz"] = npz_bytes(arrays)
    return files


def _check_no_leak(relpath, data):
    text = data.decode("utf-8", errors="replace")
    for marker in LEAK_MARKERS:
        if marker in text:
            line = text[:text.index(marker)].count("\n") + 1
            raise AssignError(f"{relpath}:{line} still contains {marker!r} after processing; "
                              "the release would leak it")


def _prepare_out(out, overwrite):
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise AssignError(f"output folder {out} exists and is not empty; choose a new "
                              "folder or pass overwrite=True (--force) to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_package(source, out, solutions=False, overwrite=False):
    """Write the student release (or the solution build) of ``source`` to ``out``.

    Parameters
    ----------
    source : assignment source folder (with ``assignment.json``).
    out : output folder; must be new or empty unless ``overwrite``.
    solutions : False for the student release (stubs, no hidden tests); True
        for a correct submission (solutions kept, markers and hidden tests gone).
    overwrite : delete ``out`` first if it holds anything.

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
    files.update(derived_files(source, layout))
    report.derived = dict(sorted(layout["derived"].items()))
    report.cases = sorted(Path(p).stem for p in files
                          if p.startswith(layout["expected_dir"].rstrip("/") + "/"))
    out = _prepare_out(out, overwrite)
    for relpath in sorted(files):
        if not solutions and not relpath.endswith(".npz"):
            _check_no_leak(relpath, files[relpath])
        target = out / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[relpath])
    report.files = sorted(files)
    return report


def generate_release(source, out, overwrite=False):
    """The student release of ``source`` in ``out``: ``build_package(..., solutions=False)``."""
    return build_package(source, out, solutions=False, overwrite=overwrite)


def sync_derived(source):
    """Write the derived files into ``source`` itself, so its notebooks run there.

    Returns the written paths, relative to ``source``, sorted. The files carry a
    "do not edit" header and are kept out of git by ``assignments/.gitignore``.
    """
    source = Path(source)
    files = derived_files(source)
    for relpath, data in files.items():
        target = source / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
    return sorted(files)
