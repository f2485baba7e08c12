"""Scores into an nbgrader course's gradebook (``COURSE_ROOT/gradebook.db``).

Runs in the grading parent only, after the batch. Each test group is a grade
cell, found by ``grade_id`` (the group's name) among the assignment's
notebooks; groups with no such cell get one in a notebook called
:data:`HIDDEN_NOTEBOOK`. Scores go into ``auto_score``, so ``nbgrader
export`` and formgrader show them, scaled to the cell's ``max_score`` (a
notebook's ``conv_forward_naive`` test cell worth 3 points gets 3 times the
fraction of the hidden group earned). Run it after ``nbgrader autograde``: the
hidden tests' verdict then replaces the visible test's for those cells.
Ungradable students get zeros; students the grader failed (``grader_error``) are left
untouched: no score is written for them.
"""
from pathlib import Path

from ..errors import GraderUsageError

HIDDEN_NOTEBOOK = "cnnkit_hidden_tests"


def check_course(course_root):
    """Validate ``course_root``; return a ``writer(assignment, records)`` for it."""
    root = Path(course_root)
    if not root.is_dir() or not ((root / "nbgrader_config.py").is_file()
                                 or (root / "gradebook.db").is_file()):
        raise GraderUsageError(f"--nbgrader {course_root}: not an nbgrader course folder "
                               "(expected nbgrader_config.py or gradebook.db in it)")
    try:
        import nbgrader.api  # noqa: F401
    except ImportError as err:
        raise GraderUsageError("--nbgrader needs nbgrader: pip install 'cnnkit[grader]'") from err
    return lambda assignment, records: write_scores(root, assignment, records)


def _grade_cells(gb, assignment):
    """``{grade_id: notebook name}``, creating missing cells in the hidden-tests notebook."""
    a = gb.update_or_create_assignment(assignment.name)
    where = {gc.name: nb.name for nb in a.notebooks for gc in nb.grade_cells}
    for g in assignment.groups:
        if g.name not in where:
            gb.update_or_create_notebook(HIDDEN_NOTEBOOK, assignment.name)
            gb.update_or_create_grade_cell(g.name, HIDDEN_NOTEBOOK, assignment.name,
                                           max_score=g.points, cell_type="code")
            where[g.name] = HIDDEN_NOTEBOOK
    return where


def _grade(gb, api, cell, notebook, assignment, student):
    """The Grade row of one cell for one student, created when missing."""
    try:
        return gb.find_grade(cell, notebook, assignment, student)
    except api.MissingEntry:
        pass
    sub = gb.find_submission(assignment, student)
    try:
        sub_nb = gb.find_submission_notebook(notebook, assignment, student)
    except api.MissingEntry:
        sub_nb = api.SubmittedNotebook(assignment=sub, notebook=gb.find_notebook(notebook, assignment))
        gb.db.add(sub_nb)
    grade = api.Grade(cell=gb.find_grade_cell(cell, notebook, assignment), notebook=sub_nb)
    gb.db.add(grade)
    return grade


def write_scores(course_root, assignment, records):
    """Write each record's group scores as auto scores; returns the number of students
    written (those the grader failed are skipped)."""
    from nbgrader import api
    url = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    with api.Gradebook(url) as gb:
        where = _grade_cells(gb, assignment)
        for r in records:
            if r["status"] == "grader_error":
                continue
            gb.update_or_create_student(r["student_id"])
            try:
                gb.find_submission(assignment.name, r["student_id"])
            except api.MissingEntry:
                gb.add_submission(assignment.name, r["student_id"])
            scores = {g["name"]: g["score"] for g in r["groups"]}
            for g in assignment.groups:
                grade = _grade(gb, api, g.name, where[g.name], assignment.name, r["student_id"])
                cell_max = gb.find_grade_cell(g.name, where[g.name], assignment.name).max_score
                grade.auto_score = round(float(scores.get(g.name, 0.0)) / g.points * cell_max, 4)
                grade.needs_manual_grade = False
            gb.db.commit()
    return sum(r["status"] != "grader_error" for r in records)
