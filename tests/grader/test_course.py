"""The instructor's course: `cnnkit course new`, and grading against a course (--course)."""
import json

import pytest

from cnnkit.grader.api import grade_submissions
from cnnkit.grader.cli import main
from cnnkit.grader.course import assignment_source, new_course, template_assignments
from cnnkit.grader.errors import GraderUsageError


def test_a_new_course_holds_the_template_with_its_solutions_and_runs_in_place(tmp_path):
    written = new_course(tmp_path / "course")
    course = tmp_path / "course"
    assert "cnn" in template_assignments()
    assert {"nbgrader_config.py", "source/cnn/assignment.json", "source/cnn/1-ConvLayers.ipynb",
            "source/cnn/nndl/conv_layers.py", "source/cnn/nndl/layers.py",
            "source/cnn/utils/expected/conv_forward.npz"} <= set(written)
    assert "### BEGIN SOLUTION" in (course / "source/cnn/nndl/conv_layers.py").read_text()
    assert "c.CourseDirectory" in (course / "nbgrader_config.py").read_text()
    assert assignment_source("cnn", course)[0] == (course / "source/cnn").resolve()


def test_a_non_empty_folder_is_refused_unless_forced_and_force_keeps_other_files(tmp_path,
                                                                                capsys):
    (tmp_path / "gradebook.db").write_text("mine")
    assert main(["course", "new", str(tmp_path)]) == 2
    assert f"{tmp_path} is not empty; choose a new folder, or pass --force" in \
        capsys.readouterr().err
    (tmp_path / "source/cnn").mkdir(parents=True)
    (tmp_path / "source/cnn/1-ConvLayers.ipynb").write_text("stale")
    assert main(["course", "new", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "gradebook.db").read_text() == "mine"
    assert json.loads((tmp_path / "source/cnn/1-ConvLayers.ipynb").read_text())["cells"]


def test_a_course_without_the_assignment_is_named(tmp_path):
    with pytest.raises(GraderUsageError, match=r"course .*nowhere: not a folder"):
        assignment_source("cnn", tmp_path / "nowhere")
    with pytest.raises(GraderUsageError, match=r"course .* has no assignment 'cnn': "
                                               r".*source/cnn/assignment.json is missing"):
        assignment_source("cnn", tmp_path)
    with pytest.raises(GraderUsageError, match=r"template .* has no assignment 'rnn'"):
        new_course(tmp_path / "c", assignment="rnn")


def test_a_notebook_check_that_cannot_run_is_said_in_the_summary_and_every_report(tmp_path):
    course = tmp_path / "course"
    new_course(course, sync=False)
    (course / "source/cnn/1-ConvLayers.ipynb").write_text("{ not json")
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)  # nothing handed in: ungradable, graded at once
    result = grade_submissions(subs, tmp_path / "out", secret=tmp_path / "secret",
                               course=course)
    check = result.summary["notebook_check"]
    assert check["ran"] is False and str(course.resolve()) in check["source"]
    assert "could not be built" in check["problem"]
    results = json.loads((tmp_path / "out/alice/results.json").read_text())
    assert "Notebook cells were not checked: the release notebooks of course" in \
        results["output"]
    assert "were not checked" in (tmp_path / "out/alice/feedback.html").read_text()


def test_grading_names_the_course_its_notebook_check_used(tmp_path):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    result = grade_submissions(subs, tmp_path / "out", secret=tmp_path / "secret")
    assert result.summary["notebook_check"]["ran"] is True
    assert result.summary["notebook_check"]["source"].startswith(
        "the course template installed with cnnkit")
    with pytest.raises(GraderUsageError, match=r"--course .*missing: not a folder"):
        grade_submissions(subs, tmp_path / "out2", secret=tmp_path / "secret",
                          course=tmp_path / "missing")
