"""What the class report counts, on a fixture batch counted by hand."""
from cnnkit.grader.report.class_stats import (case_status_counts, common_failures, kind_pass_rates,
                                       normalise)
from cnnkit.grader.testbank import get_assignment

#: case statuses of the fixture batch, per student and group (case index -> status)
FIXTURE = {
    "s1": {"conv_forward_naive": "pppppp", "max_pool_forward_naive": "ppppp"},
    "s2": {"conv_forward_naive": "pfffpf", "max_pool_forward_naive": "pffpf"},
    "s3": {"conv_forward_naive": "pptppp", "max_pool_forward_naive": "pppfp"},
}
STATUS = {"p": "passed", "f": "failed", "t": "timeout"}


def fixture_records():
    """Records as grade.json holds them; each case's kinds come from the real test bank."""
    assign = get_assignment("cnn")
    records = []
    for student, groups in FIXTURE.items():
        record = {"student_id": student, "status": "graded", "reason": "", "total": 0.0,
                  "max_total": 15, "seconds": 1.0, "groups": []}
        for group, statuses in groups.items():
            cases = []
            for i, s in enumerate(statuses):
                case = assign.make_case(b"fixture", group, i)
                message = "" if s == "p" else (
                    f"case {i} ({case.describe}): out[0, {i}, 1, 2] is {i / 7:.6g}, expected "
                    f"{i + 0.5:.6g} (largest error {i / 10 + 0.1:.1e} of the largest expected value)"
                    if s == "f" else f"case {i}: timed out (an infinite loop, or far too slow?)")
                cases.append({"index": i, "status": STATUS[s], "message": message,
                              "kinds": list(case.kinds)})
            record["groups"].append({"name": group, "score": 0.0, "max_score": 10,
                                     "note": "", "cases": cases})
        records.append(record)
    ungradable = {"student_id": "s4", "status": "ungradable", "reason": "no nndl/ folder",
                  "total": 0.0, "max_total": 15, "seconds": 0.0,
                  "groups": [{"name": "conv_forward_naive", "score": 0.0, "max_score": 10,
                              "note": "", "cases": []}]}
    return records + [ungradable]


def test_kind_pass_rates_equal_a_hand_count():
    # The conv cases are (stride, pad): 0 (1, 0), 1 (2, 1), 2 (3, 2), 3 (1, 3), 4 (2, 0),
    # 5 (3, 1); cases 1, 3, 4, 5 have non-square filters. The pool cases are 0 tiling,
    # 1, 2, 4 overlapping, 3 with gaps. s2 fails every conv case with padding (1, 2, 3, 5)
    # and every overlapping pool case; s3 times out on conv case 2 and fails pool case 3.
    rates = {g: {r.kind: (r.passed, r.cases, len(r.students_failing)) for r in kinds}
             for g, kinds in kind_pass_rates(fixture_records()).items()}
    conv, pool = rates["conv_forward_naive"], rates["max_pool_forward_naive"]
    assert conv["pad 0"] == (6, 6, 0)       # cases 0, 4 x 3 students, all passed
    assert conv["pad 1"] == (4, 6, 1)       # cases 1, 5: s2 fails both
    assert conv["pad 2"] == (1, 3, 2)       # case 2: s2 fails, s3 times out
    assert conv["stride 3"] == (3, 6, 2)    # cases 2, 5: s1 2, s2 0, s3 1
    assert conv["stride 1"] == (5, 6, 1)    # cases 0, 3: s2 fails 3
    assert conv["non-square filter"] == (9, 12, 1)   # cases 1, 3, 4, 5: s2 passes only 4
    assert pool["overlapping windows"] == (6, 9, 1)
    assert pool["windows with gaps"] == (2, 3, 1)
    assert pool["tiling windows"] == (3, 3, 0)


def test_records_without_kinds_count_by_case_index():
    records = fixture_records()[:1]
    for case in records[0]["groups"][0]["cases"]:
        del case["kinds"]
    kinds = [r.kind for r in kind_pass_rates(records)["conv_forward_naive"]]
    assert kinds == [f"case {i}" for i in range(6)]


def test_the_same_mistake_on_different_cases_is_one_failure_group():
    groups = common_failures(fixture_records())
    # pooling: s2 on cases 1, 2, 4 and s3 on case 3; convolution: s2 on 1, 2, 3, 5
    assert [(g.group, g.status, sorted(g.students), g.cases) for g in groups[:2]] == [
        ("max_pool_forward_naive", "failed", ["s2", "s3"], 4),
        ("conv_forward_naive", "failed", ["s2"], 4)]
    assert groups[0].pattern == ("out[…] is #, expected # (largest error # of the largest "
                                 "expected value)")
    timeouts = [g for g in groups if g.status == "timeout"]
    assert len(timeouts) == 1 and timeouts[0].students == {"s3"}


def test_normalise_drops_the_case_and_its_numbers():
    assert normalise("case 3 (x (2, 3, 5, 5), w (3, 3, 2, 2), conv_param {'stride': 2, "
                     "'pad': 1}): dx has shape (2, 3, 7, 7), expected (2, 3, 5, 5)") == \
        "dx has shape (…), expected (…)"
    assert normalise("case 0: the process ended during this case (exit status 0; sys.exit, "
                     "os._exit or a crash?).") == ("the process ended during this case (exit "
                                                   "status #; sys.exit, os._exit or a crash?).")
    assert normalise("W2 is -1.5e-03, expected 2") == "W2 is #, expected #"


def test_case_status_counts_leave_out_ungradable_students():
    counts = case_status_counts(fixture_records())
    assert counts["conv_forward_naive"] == {"passed": 13, "failed": 4, "timeout": 1}
