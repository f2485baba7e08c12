"""Gradebook exports: a plain score table, and Canvas's gradebook-import CSV.

``scores.csv``: ``student, total, <one column per test group>``.

``canvas.csv``: the columns Canvas's gradebook import reads (``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment,
named ``<assignment> (<Canvas assignment id>)`` when the id is known, which
Canvas matches exactly, else by name, which creates the assignment when it
does not exist yet), a ``Points Possible`` row as Canvas writes in its own
exports, then one row per student of the roster. The roster maps the grader's
student ids to the Canvas identities: a CSV with a ``student_id`` column and
any of Canvas's identity columns (a Canvas gradebook export with a
``student_id`` column added works as it is). A roster student without a grade
gets an empty cell, which Canvas leaves unchanged (so does a student the
grader failed on, status ``grader_error``); a graded student missing from the
roster is listed in the result, never guessed.
"""
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

#: Canvas's gradebook identity columns, in its order
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
ROSTER_KEY = "student_id"
#: the status of a student the grader failed on: they get no score anywhere
NOT_GRADED = "grader_error"


@dataclass
class CanvasExport:
    """The CSV text, and the students it could not place."""
    text: str
    not_in_roster: list = field(default_factory=list)   # graded, but no roster row
    not_graded: list = field(default_factory=list)      # roster rows without a grade


def scores_csv(records, groups):
    """``student, total, <group>...``: points per group, one row per student."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "total", *groups])
    for r in sorted(records, key=lambda r: r["student_id"]):
        if r["status"] == NOT_GRADED:  # the grader failed: no score, not even a zero
            writer.writerow([r["student_id"], "", *("" for _ in groups)])
            continue
        points = {g["name"]: g["score"] for g in r["groups"]}
        writer.writerow([r["student_id"], f"{r['total']:g}",
                         *(f"{points.get(g, 0.0):g}" for g in groups)])
    return buf.getvalue()


def read_roster(path):
    """``{student_id: {canvas column: value}}`` from a roster CSV; ValueError naming the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ValueError(f"roster {path}: cannot read it ({err.strerror})") from err
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if ROSTER_KEY not in columns:
        raise ValueError(f"roster {path}: needs a {ROSTER_KEY!r} column (the grader's student "
                         f"ids) beside Canvas's {', '.join(CANVAS_IDENTITY)}; "
                         f"found {columns or 'no header'}")
    if not set(CANVAS_IDENTITY[1:4]) & set(columns):
        raise ValueError(f"roster {path}: needs at least one of 'ID', 'SIS User ID', "
                         f"'SIS Login ID' for Canvas to match students; found {columns}")
    roster = {}
    for number, row in enumerate(reader, 2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        sid = row.get(ROSTER_KEY, "")
        if not sid or sid == "Points Possible" or row.get("Student") == "Points Possible":
            continue
        if sid in roster:
            raise ValueError(f"roster {path}, line {number}: student_id {sid!r} appears twice")
        roster[sid] = {c: row.get(c, "") for c in CANVAS_IDENTITY}
    return roster


def canvas_column(assignment, canvas_id=None):
    """The assignment's column header: ``name (id)`` when Canvas's assignment id is known."""
    return f"{assignment} ({canvas_id})" if canvas_id else assignment


def canvas_csv(records, roster, assignment, max_total, canvas_id=None):
    """A :class:`CanvasExport` with each roster student's total in the assignment's column."""
    totals = {r["student_id"]: r["total"] for r in records if r["status"] != NOT_GRADED}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*CANVAS_IDENTITY, canvas_column(assignment, canvas_id)])
    writer.writerow(["Points Possible", "", "", "", "", f"{max_total:g}"])
    result = CanvasExport("")
    for sid, who in sorted(roster.items(), key=lambda kv: (kv[1]["Student"], kv[0])):
        if sid not in totals:
            result.not_graded.append(sid)
        score = f"{totals[sid]:g}" if sid in totals else ""
        writer.writerow([*(who[c] for c in CANVAS_IDENTITY), score])
    result.not_in_roster = sorted(set(totals) - set(roster))
    result.text = buf.getvalue()
    return result
