"""--nbgrader COURSE_ROOT: scores land in the course's gradebook, by grade_id."""
import shutil

import pytest

from cnnkit.grader.api import grade_submissions
from cnnkit.grader.report.gradebook import HIDDEN_NOTEBOOK

nbapi = pytest.importorskip("nbgrader.api")


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 't'\n")
    return root


def test_scores_are_written_to_the_gradebook(tiny, tmp_path, builds, course, secret_file):
    subs = course / "submitted"
    shutil.copytree(builds["solution"], subs / "alice" / "tiny")
    shutil.copytree(builds["stub"], subs / "bob" / "tiny")
    grade_submissions(course, tmp_path / "out", assignment="tiny", secret=secret_file,
                      nbgrader=course)
    url = f"sqlite:///{course / 'gradebook.db'}"
    with nbapi.Gradebook(url) as gb:
        alice = gb.find_grade("conv_forward_naive", HIDDEN_NOTEBOOK, "tiny", "alice")
        bob = gb.find_grade("conv_forward_naive", HIDDEN_NOTEBOOK, "tiny", "bob")
        assert (alice.score, alice.max_score, bob.score) == (10.0, 10.0, 0.0)
        assert gb.find_submission("tiny", "alice").score == 10.0
    # a second run (nothing changed) leaves the gradebook as it was
    grade_submissions(course, tmp_path / "out", assignment="tiny", secret=secret_file,
                      nbgrader=course)
    with nbapi.Gradebook(url) as gb:
        assert gb.find_submission("tiny", "alice").score == 10.0
        assert len(gb.find_assignment("tiny").submissions) == 2


def test_existing_grade_cells_with_the_group_name_are_used(tiny, tmp_path, builds, course,
                                                          secret_file):
    url = f"sqlite:///{course / 'gradebook.db'}"
    with nbapi.Gradebook(url) as gb:
        gb.add_assignment("tiny")
        gb.add_notebook("conv_layers", "tiny")
        gb.add_grade_cell("conv_forward_naive", "conv_layers", "tiny", max_score=3,
                          cell_type="code")
    shutil.copytree(builds["solution"], tmp_path / "subs" / "alice")
    grade_submissions(tmp_path / "subs", tmp_path / "out", assignment="tiny",
                      secret=secret_file, nbgrader=course)
    with nbapi.Gradebook(url) as gb:
        # scaled to the notebook cell's points: full marks on the hidden group = 3 of 3
        assert gb.find_grade("conv_forward_naive", "conv_layers", "tiny", "alice").score == 3.0
        assert [nb.name for nb in gb.find_assignment("tiny").notebooks] == ["conv_layers"]
