"""Notebooks of a build: the release through nbgrader's own generate_assignment steps."""
import json

from .layout import AssignError
from .regions import BEGIN_SOLUTION, END_SOLUTION

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
