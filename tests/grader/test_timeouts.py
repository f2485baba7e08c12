"""A group that loops forever costs that group only: the harness's per-group timer stops
it, and when the student's code swallows the timer the sandbox's limit is the backstop."""
import dataclasses
import shutil

import pytest

from cnnkit.grader.testbank import groups as testbank
from cnnkit.grader.api import grade_submissions

LOOPS = {
    "plain": "    while True:\n        pass\n",
    "swallows_the_timer": ("    while True:\n        try:\n            while True:\n"
                           "                pass\n        except BaseException:\n"
                           "            pass\n"),
}


@pytest.fixture
def two_groups(monkeypatch):
    bn = dataclasses.replace(testbank.CNN.group("spatial_batchnorm_backward"), n_cases=2)
    pool = dataclasses.replace(testbank.CNN.group("max_pool_forward_naive"), n_cases=1)
    assignment = dataclasses.replace(testbank.CNN, name="two", groups=(bn, pool))
    monkeypatch.setitem(testbank.ASSIGNMENTS, "two", assignment)
    return assignment


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_infinite_loop_costs_only_its_group(two_groups, builds, tmp_path, secret_file, loop):
    folder = tmp_path / "subs" / "erin"
    shutil.copytree(builds["solution"], folder)
    path = folder / "nndl" / "conv_layers.py"
    marker = "    bn_cache, (N, C, H, W) = cache\n"
    assert marker in path.read_text()
    path.write_text(path.read_text().replace(marker, marker + LOOPS[loop], 1))
    result = grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="two",
                               timeout=2, secret=secret_file)
    groups = {g["name"]: g for g in result.records[0]["groups"]}
    bn = groups["spatial_batchnorm_backward"]["cases"]
    assert [c["status"] for c in bn] == ["timeout", "timeout"]
    assert "timed out (an infinite loop, or far too slow?)" in bn[0]["message"]
    assert "not run: an earlier case used up the group's time limit" in bn[1]["message"]
    assert groups["max_pool_forward_naive"]["score"] == 5
