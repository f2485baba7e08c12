"""``results.json`` in Gradescope's format, from a student's grading record.

Gradescope's autograder specification: a top-level ``score``, ``execution_time``
(seconds), ``output``, ``tests`` (each with ``score``, ``max_score``, ``status``,
``name``, ``number``, ``output``, ``visibility``: ``visible``, ``hidden``,
``after_due_date`` or ``after_published``), ``leaderboard`` (``name``/``value``
pairs) and ``extra_data``. What a student sees:

- one test per group, visible: its score, how many hidden cases passed and, for
  cases whose code failed to run (an exception, a timeout, a crash), what went
  wrong, which the student can act on without learning the hidden inputs;
- one test per group with every case's full message (expected and received
  values), at the visibility chosen when the zip was built (default
  ``after_due_date``);
- a leaderboard entry with the held-out accuracy.

Instructors also see a hidden test ``grader`` with the isolation that held and
what it could not close, and ``extra_data`` with cnnkit's version and the
secret's fingerprint.
"""
from ..report.step import student_output

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
#: statuses whose message is about the student's code running, not about hidden values
RUN_FAILURES = ("error", "timeout", "oom", "crashed")
LEADERBOARD = "Held-out accuracy (%)"


def check_visibility(value):
    """Validate a Gradescope visibility setting; return it."""
    if value not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}, got {value!r}")
    return value


def group_summary(group):
    """The visible text of one group: note, cases passed, and run failures."""
    lines = [group["note"]] if group.get("note") else []
    cases = group["cases"]
    if len(cases) == 1 and cases[0].get("value") is not None:
        return "\n".join(lines + [cases[0]["message"]])
    passed = sum(c["status"] == "passed" for c in cases)
    if cases:
        lines.append(f"{passed} of {len(cases)} hidden cases passed.")
    for c in cases:
        if c["status"] in RUN_FAILURES:
            lines.append(f"[{c['status']}] {c['message']}")
        elif c["status"] != "passed":
            lines.append(f"[{c['status']}] case {c['index']}: wrong result (the values are "
                         "shown with the hidden-case details)")
    return "\n".join(lines)


def accuracy_of(record):
    """The held-out accuracy measured for ``record`` (0..1), or None."""
    for group in record["groups"]:
        for case in group["cases"]:
            if case.get("value") is not None:
                return case["value"]
    return None


def grader_test(facts):
    """The instructors-only test: isolation used, what stayed open, versions."""
    gaps = facts.get("isolation_gaps") or []
    lines = [f"isolation: {facts.get('isolation') or 'no sandbox was started'}",
             "not closed: " + ("; ".join(gaps) if gaps else "nothing the self-test found"),
             f"cnnkit {facts.get('cnnkit_version')}, secret {facts.get('secret_fingerprint')}"]
    lines += facts.get("notes", [])
    return {"name": "grader (instructors only)", "score": 0.0, "max_score": 0.0,
            "status": "passed", "output": "\n".join(lines), "visibility": "hidden"}


def from_record(record, facts, details="after_due_date"):
    """``results.json`` (a dict) for a graded or ungradable record.

    facts : ``extra_data`` for instructors (cnnkit_version, secret_fingerprint,
        isolation, isolation_gaps, ...).
    details : visibility of the per-case details of the hidden tests.
    """
    check_visibility(details)
    tests, detail_tests = [], []
    for number, g in enumerate(record["groups"], 1):
        tests.append({"name": g["name"], "number": str(number), "score": g["score"],
                      "max_score": g["max_score"],
                      "status": "passed" if g["score"] >= g["max_score"] else "failed",
                      "output": group_summary(g), "visibility": "visible"})
        if g["cases"]:
            detail_tests.append({
                "name": f"{g['name']}: hidden case details", "number": f"{number}.1",
                "score": 0.0, "max_score": 0.0,
                "status": "passed" if g["score"] >= g["max_score"] else "failed",
                "output": "\n".join(f"[{c['status']}] " + (c["message"] or f"case {c['index']}")
                                    for c in g["cases"]),
                "visibility": details, "extra_data": {"cases": g["cases"]}})
    accuracy = accuracy_of(record)
    extra = {**facts, "status": record["status"], "total": record["total"],
             "max_total": record["max_total"]}
    return {"score": record["total"], "execution_time": round(record["seconds"], 1),
            "output": student_output(record), "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests + detail_tests + [grader_test(facts)],
            "leaderboard": [{"name": LEADERBOARD,
                             "value": round(100 * (accuracy or 0.0), 2)}],
            "extra_data": extra}


def grader_failure(message, detail, facts, seconds=0.0):
    """``results.json`` when the grader itself failed: score 0, nothing lost silently.

    message : what went wrong, for the instructor (also shown to the student as the
        reason their submission could not be graded).
    detail : a traceback or log, instructors only.
    """
    facts = {**facts, "status": "grader_error", "error": message}
    hidden = grader_test(facts)
    hidden["output"] += f"\ngrader error: {message}\n{detail}".rstrip()
    return {"score": 0.0, "execution_time": round(seconds, 1),
            "output": ("The autograder could not grade this submission because of a problem "
                       "in the grader, not in your code; your instructor has been told. "
                       f"({message})"),
            "visibility": "visible", "stdout_visibility": "hidden", "tests": [hidden],
            "extra_data": facts}
