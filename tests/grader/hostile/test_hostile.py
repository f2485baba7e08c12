"""Issue 5: hostile and broken submissions never gain credit, never hurt others.

All hostile students of ``hostile_cases.py`` are graded in one batch with two honest
students (fixture ``hostile_batch`` in ``hostile_grading.py``); each test reads that
batch's reports. Per case: no credit it did not earn, its own status is clear,
and the batch-wide tests show the honest grades equal grading them alone and
nothing outside the sandbox changed.
"""
import csv
import json

import pytest

from grader_helpers import comparable
from hostile_cases import BY_SID, CASES, GROUPS, NOTEBOOK_EDITS
from hostile_grading import (HONEST, MIN_INIT_ELEMENTS, SUITE_SECRET,  # noqa: F401 (fixture)
                             hostile_batch, probe_paths, smallest_init_weight)

pytestmark = pytest.mark.slow

#: the whole batch (35 students, 2 workers) must end within this; 120-220 s on 2 cores
#: shared with other work
BATCH_BUDGET_SECONDS = 600


def scores(record):
    return {g["name"]: g["score"] for g in record["groups"]}


def test_suite_secret_avoids_small_init_cases():
    # otherwise a correct random initialisation can fail by chance (see SUITE_SECRET)
    assert smallest_init_weight(SUITE_SECRET.encode()) >= MIN_INIT_ELEMENTS


def test_batch_finished_in_bounded_time_with_every_student(hostile_batch):
    assert hostile_batch.exit_status == 0, hostile_batch.stderr[-2000:]
    assert hostile_batch.seconds < BATCH_BUDGET_SECONDS
    expected = {*HONEST, *(c.sid for c in CASES)}
    assert set(hostile_batch.records) == expected
    for sid in expected:
        results = json.loads((hostile_batch.out / sid / "results.json").read_text())
        assert {t["name"] for t in results["tests"]} == set(GROUPS)
    with open(hostile_batch.out / "grades.csv", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == expected
    for sid, record in hostile_batch.records.items():
        assert float(rows[sid]["total"]) == pytest.approx(record["total"])
        assert rows[sid]["status"] == record["status"]
    summary = json.loads((hostile_batch.out / "summary.json").read_text())
    assert summary["students"] == len(expected)


@pytest.mark.parametrize("sid", HONEST)
def test_honest_grade_identical_to_grading_it_alone(hostile_batch, sid):
    assert comparable(hostile_batch.records[sid]) == comparable(hostile_batch.alone[sid])


def test_honest_students_score_as_expected(hostile_batch):
    full, partial = (scores(hostile_batch.records[s]) for s in HONEST)
    assert all(full[g] > 0 for g in GROUPS[:-1])
    assert partial["max_pool_backward_naive"] == 0
    assert {g: s for g, s in partial.items() if g != "max_pool_backward_naive"} == {
        g: s for g, s in full.items() if g != "max_pool_backward_naive"}


def test_nothing_outside_the_sandbox_changed(hostile_batch):
    changed = sorted(path for path in set(hostile_batch.before) | set(hostile_batch.after)
                     if hostile_batch.before.get(path) != hostile_batch.after.get(path))
    assert changed == []
    for path in probe_paths(hostile_batch.targets):
        assert not path.exists(), path


def test_gradebook_holds_exactly_the_batch_scores(hostile_batch):
    from nbgrader.api import Gradebook
    url = f"sqlite:///{hostile_batch.course / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        for sid, record in hostile_batch.records.items():
            submission = gradebook.find_submission("cnn", sid)
            assert submission.score == pytest.approx(record["total"]), sid
    assert hostile_batch.records["honest_full"]["total"] == (
        hostile_batch.alone["honest_full"]["total"])


def test_no_connection_reached_the_hosts_loopback(hostile_batch):
    assert hostile_batch.received == []


def test_secret_and_canary_never_reach_a_report(hostile_batch):
    secret = hostile_batch.targets.secret.read_text().strip()
    canary = hostile_batch.targets.canary.read_text().strip()
    for path in hostile_batch.out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert secret not in text, path
            assert canary not in text, path


@pytest.mark.parametrize("sid", [c.sid for c in CASES])
def test_hostile_submission(hostile_batch, sid):
    case = BY_SID[sid]
    record = hostile_batch.records[sid]
    got, honest = scores(record), scores(hostile_batch.records["honest_full"])
    assert record["status"] in ("graded", "ungradable")
    for group in GROUPS:
        assert got[group] <= honest[group], f"{sid} earned more than the correct code in {group}"
    for group in case.zeroed:
        assert got[group] == 0, f"{sid} earned {got[group]} in {group}: {record['groups']}"
    for group in case.intact:
        assert got[group] == honest[group], (
            f"{sid}: {group} should be untouched by the attack, got {got[group]} "
            f"instead of {honest[group]}: "
            f"{[g for g in record['groups'] if g['name'] == group]}")
    if case.check:
        case.check(record, hostile_batch)


@pytest.mark.parametrize("sid", sorted(NOTEBOOK_EDITS))
def test_notebook_edit_is_reported(hostile_batch, sid):
    notebook, grade_id, problem = NOTEBOOK_EDITS[sid]
    record = hostile_batch.records[sid]
    assert record["notebook_edits"] == [
        {"notebook": notebook, "grade_id": grade_id, "problem": problem}]
    results = (hostile_batch.out / sid / "results.json").read_text()
    assert notebook in results and problem in results


def test_honest_notebooks_report_no_edit(hostile_batch):
    for sid in HONEST:
        assert hostile_batch.records[sid]["notebook_edits"] == []
