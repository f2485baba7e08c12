"""Reports: each student's files (the pipeline's last step) and the batch files.

Per student, in ``OUT/<student_id>/``: ``grade.json`` (the full record, also
used to resume), ``results.json`` (Gradescope's format) and ``feedback.html``.
A student the grader failed (status ``grader_error``) gets a record with the
reason and no score anywhere (``total`` is None, no groups).
Per batch, in ``OUT/``: ``grades.csv`` (one row per student) and
``summary.json`` (counts per status, timings, the secret's fingerprint, the
isolation used). Every file is written atomically.
"""
import csv
import io

from . import feedback
from ..notebook_check import step as notebook_check
from .atomic import write_json, write_text

RECORD = "grade.json"


def student_record(ctx, work, grader_key):
    """The JSON-ready record of a graded student."""
    sub = work.submission
    return {"student_id": sub.student_id, "assignment": ctx.assignment.name,
            "status": "graded", "reason": "", "fingerprint": sub.fingerprint,
            "secret": ctx.secret.fingerprint, "grader": grader_key,
            "total": round(work.total, 2), "max_total": ctx.assignment.max_total,
            "groups": [g.to_dict() for g in work.groups], "isolation": work.isolation,
            "seconds": round(work.seconds, 3), "notebook_edits": work.notebook_edits,
            "notebook_check_problem": ctx.notebook_problem}


def ungradable_record(ctx, sub, grader_key):
    """The record of a submission that could not be graded, with the reason."""
    return {"student_id": sub.student_id, "assignment": ctx.assignment.name,
            "status": "ungradable", "reason": sub.problem, "fingerprint": sub.fingerprint,
            "secret": ctx.secret.fingerprint, "grader": grader_key, "total": 0.0,
            "max_total": ctx.assignment.max_total,
            "groups": [{"name": g.name, "score": 0.0, "max_score": g.points, "note": sub.problem,
                        "no_credit": False, "seconds": 0.0, "cases": []}
                       for g in ctx.assignment.groups],
            "isolation": "", "seconds": 0.0, "notebook_edits": [],
            "notebook_check_problem": ctx.notebook_problem}


def grader_error_record(ctx, sub, reason):
    """The record of a student the grader failed: the reason, and no score at all."""
    return {"student_id": sub.student_id, "assignment": ctx.assignment.name,
            "status": "grader_error", "reason": reason, "fingerprint": sub.fingerprint,
            "secret": ctx.secret.fingerprint, "grader": ctx.grader_key, "total": None,
            "max_total": ctx.assignment.max_total, "groups": [], "isolation": "",
            "seconds": 0.0, "notebook_edits": []}


def gradescope(record):
    """``results.json`` in Gradescope's autograder format."""
    if record["status"] == "grader_error":  # no score: Gradescope must not record one
        return {"execution_time": record["seconds"], "visibility": "visible", "tests": [],
                "output": f"Not graded yet: the grader failed ({record['reason']}). This is "
                          "not your fault; your instructor will re-run the grader."}
    tests = []
    for g in record["groups"]:
        lines = [g["note"]] if g.get("note") else []
        lines += [f"[{c['status']}] " + (c["message"] or f"case {c['index']}")
                  for c in g["cases"]]
        tests.append({"name": g["name"], "score": g["score"], "max_score": g["max_score"],
                      "status": "passed" if g["score"] >= g["max_score"] else "failed",
                      "output": "\n".join(lines), "visibility": "visible",
                      "extra_data": {"cases": g["cases"]}})
    return {"score": record["total"], "execution_time": record["seconds"],
            "output": student_output(record), "visibility": "visible", "tests": tests}


def student_output(record):
    """The text about the whole submission: why it was not graded, edited notebook cells."""
    lines = [] if record["status"] == "graded" else [f"Not graded: {record['reason']}"]
    if record.get("notebook_edits"):
        lines.append("Protected notebook cells changed (they earn nothing here, but tell your "
                     "instructor why): " + notebook_check.describe(record["notebook_edits"]))
    if record.get("notebook_check_problem"):
        lines.append("Notebook cells were not checked: " + record["notebook_check_problem"])
    return "\n".join(lines)


def write_student(out, record):
    """Write ``grade.json``, ``results.json`` and ``feedback.html`` of one student."""
    folder = out / record["student_id"]
    write_json(folder / "results.json", gradescope(record))
    write_text(folder / "feedback.html", feedback.render(record))
    write_json(folder / RECORD, record)  # last: its presence means the student is done


def grades_csv(assignment, records):
    """The text of ``grades.csv``: one row per student, points per group."""
    names = [g.name for g in assignment.groups]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student_id", *names, "total", "max_total", "status", "reason"])
    for r in sorted(records, key=lambda r: r["student_id"]):
        if r["status"] == "grader_error":  # not graded: no score, not even a zero
            writer.writerow([r["student_id"], *("" for _ in names), "", f"{r['max_total']:g}",
                             r["status"], r["reason"]])
            continue
        scores = {g["name"]: g["score"] for g in r["groups"]}
        writer.writerow([r["student_id"], *(f"{scores.get(n, 0.0):g}" for n in names),
                         f"{r['total']:g}", f"{r['max_total']:g}", r["status"], r["reason"]])
    return buf.getvalue()


def summary(ctx, records, timing, self_test=None, cluster=None):
    """The dict written to ``summary.json``; ``self_test`` is the sandbox self-test's
    result as a dict, ``cluster`` the workers of a cluster run."""
    case_counts, student_counts, group_means = {}, {}, {}
    for r in records:
        student_counts[r["status"]] = student_counts.get(r["status"], 0) + 1
        for g in r["groups"]:
            group_means.setdefault(g["name"], []).append(g["score"])
            for c in g["cases"]:
                case_counts[c["status"]] = case_counts.get(c["status"], 0) + 1
    isolation = sorted({r["isolation"] for r in records if r["isolation"]})
    return {"assignment": ctx.assignment.name, "students": len(records),
            "students_by_status": student_counts, "cases_by_status": case_counts,
            "mean_score_by_group": {k: round(sum(v) / len(v), 2) for k, v in group_means.items()},
            "max_total": ctx.assignment.max_total, "secret_fingerprint": ctx.secret.fingerprint,
            "not_graded": student_counts.get("grader_error", 0),
            "grader_errors": {r["student_id"]: r["reason"] for r in records
                              if r["status"] == "grader_error"},
            "self_test": self_test,
            "isolation": isolation[0] if len(isolation) == 1 else isolation,
            "heldout": ctx.heldout.source if ctx.heldout else ctx.heldout_problem,
            "notebook_check": {"ran": ctx.notebooks is not None, "source": ctx.notebook_source,
                               "problem": ctx.notebook_problem},
            "timing": timing, **({"cluster": cluster} if cluster else {}),
            "reproduce": "each case is rebuilt from the course secret with "
                         "cnnkit.grader.testbank.get_assignment(name).make_case(key, group, index)"}


def write_batch(ctx, records, timing, self_test=None, cluster=None):
    """Write ``grades.csv`` and ``summary.json``; returns the summary dict."""
    write_text(ctx.out / "grades.csv", grades_csv(ctx.assignment, records))
    info = summary(ctx, records, timing, self_test, cluster)
    write_json(ctx.out / "summary.json", info)
    return info
