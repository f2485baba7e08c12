"""Comparison messages name the array, the index, expected and got; scores follow the rules."""
import numpy as np

from cnnkit.grader.compare.step import mismatch
from cnnkit.grader.context import CaseResult, GroupResult
from cnnkit.grader.score.step import accuracy_credit, group_score


def test_mismatch_reports_shape():
    assert mismatch("out", np.zeros((2, 3)), np.zeros((2, 4))) == \
        "out has shape (2, 3), expected (2, 4)"


def test_mismatch_reports_first_non_finite_value():
    got = np.zeros((2, 2))
    got[1, 0] = np.nan
    assert mismatch("dx", got, np.zeros((2, 2))) == "dx[1, 0] is nan (not a finite number)"


def test_mismatch_reports_the_worst_index_expected_and_got():
    want = np.arange(6.0).reshape(2, 3)
    got = want.copy()
    got[1, 2] = 7.5
    assert mismatch("dw", got, want) == (
        "dw[1, 2] is 7.5, expected 5 (largest error 5.0e-01 of the largest expected value)")
    assert mismatch("dw", want + 1e-9, want) == ""


def test_group_score_is_the_fraction_passed_and_zero_when_credit_is_withheld():
    cases = [CaseResult("g", i, s) for i, s in enumerate(["passed", "failed", "passed", "crashed"])]
    group = GroupResult("g", 10, cases)
    assert group_score(group) == 5.0
    group.no_credit = True
    assert group_score(group) == 0.0


def test_accuracy_credit_is_full_from_65_percent_and_linear_from_chance():
    assert accuracy_credit(0.65) == accuracy_credit(0.9) == 1.0
    assert accuracy_credit(0.10) == accuracy_credit(0.05) == 0.0
    assert abs(accuracy_credit(0.375) - 0.5) < 1e-12


def test_init_check_accepts_small_correct_weights_and_rejects_wrong_scales():
    from cnnkit.grader.compare.step import init_std_bounds
    rng = np.random.default_rng(0)
    for n in (6, 18, 60, 5000):
        low, high = init_std_bounds(1e-3, n)
        stds = (1e-3 * rng.standard_normal((20000, n))).std(axis=1)
        assert np.all((low <= stds) & (stds <= high)), n
        assert not low <= 1.0 <= high   # weight_scale forgotten: std 1
        assert not low <= 0.0 <= high   # all-zero weights
