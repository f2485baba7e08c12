"""Gradebook exports: scores.csv and Canvas's gradebook-import CSV."""
import csv
import io

import pytest

from cnnkit.grader.report.exports import CANVAS_IDENTITY, canvas_csv, read_roster, scores_csv

RECORDS = [
    {"student_id": "ada", "total": 87.5, "status": "graded",
     "groups": [{"name": "conv", "score": 10.0}, {"name": "pool", "score": 77.5}]},
    {"student_id": "bob", "total": 0.0, "status": "ungradable",
     "groups": [{"name": "conv", "score": 0.0}, {"name": "pool", "score": 0.0}]},
    {"student_id": "cy", "total": 42.0, "status": "graded",
     "groups": [{"name": "conv", "score": 2.0}, {"name": "pool", "score": 40.0}]},
]


def _roster(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def test_scores_csv_has_a_column_per_group():
    rows = list(csv.reader(io.StringIO(scores_csv(RECORDS, ["conv", "pool"]))))
    assert rows == [["student", "total", "conv", "pool"], ["ada", "87.5", "10", "77.5"],
                    ["bob", "0", "0", "0"], ["cy", "42", "2", "40"]]


def test_canvas_csv_has_canvas_import_columns(tmp_path):
    roster = read_roster(_roster(tmp_path, (
        "Student,ID,SIS User ID,SIS Login ID,Section,student_id\n"
        '"Lovelace, Ada",101,S101,ada@uni,CS 231 A,ada\n'
        '"Byron, Bob",102,S102,bob@uni,CS 231 A,bob\n'
        '"Young, Dee",104,S104,dee@uni,CS 231 B,dee\n')))
    export = canvas_csv(RECORDS, roster, "cnn", 100, canvas_id="5521")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "cnn (5521)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "100"]
    assert rows[2:] == [["Byron, Bob", "102", "S102", "bob@uni", "CS 231 A", "0"],
                        ["Lovelace, Ada", "101", "S101", "ada@uni", "CS 231 A", "87.5"],
                        ["Young, Dee", "104", "S104", "dee@uni", "CS 231 B", ""]]
    assert export.not_in_roster == ["cy"] and export.not_graded == ["dee"]


def test_a_roster_may_give_only_some_identity_columns(tmp_path):
    roster = read_roster(_roster(tmp_path, "student_id,SIS Login ID\nada,ada@uni\n"))
    rows = list(csv.reader(io.StringIO(canvas_csv(RECORDS, roster, "cnn", 100).text)))
    assert rows[0][:5] == list(CANVAS_IDENTITY) and rows[0][5] == "cnn"
    assert rows[2] == ["", "", "", "ada@uni", "", "87.5"]


def test_a_canvas_export_with_a_student_id_column_is_a_roster(tmp_path):
    roster = read_roster(_roster(tmp_path, (
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Homework 1 (77),student_id\n"
        "    Points Possible,,,,,10,\n"
        '"Lovelace, Ada",101,S101,ada@uni,CS 231 A,9,ada\n')))
    assert roster == {"ada": {"Student": "Lovelace, Ada", "ID": "101", "SIS User ID": "S101",
                              "SIS Login ID": "ada@uni", "Section": "CS 231 A"}}


@pytest.mark.parametrize("text, message", [
    ("Student,ID\nAda,1\n", "needs a 'student_id' column"),
    ("student_id,Student,Section\nada,Ada,A\n", "needs at least one of 'ID'"),
    ("student_id,ID\nada,1\nada,2\n", "line 3: student_id 'ada' appears twice"),
])
def test_roster_problems_are_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_roster(_roster(tmp_path, text))


def test_a_missing_roster_is_named(tmp_path):
    with pytest.raises(ValueError, match="roster .*nope.csv: cannot read it"):
        read_roster(tmp_path / "nope.csv")


def test_a_student_the_grader_failed_gets_no_score_anywhere(tmp_path):
    failed = {"student_id": "dee", "total": 0.0, "status": "grader_error",
              "groups": [{"name": "conv", "score": 0.0}, {"name": "pool", "score": 0.0}]}
    rows = list(csv.reader(io.StringIO(scores_csv(RECORDS + [failed], ["conv", "pool"]))))
    assert rows[-1] == ["dee", "", "", ""]
    roster = read_roster(_roster(tmp_path, "student_id,ID\ndee,104\n"))
    canvas = list(csv.reader(io.StringIO(canvas_csv([failed], roster, "cnn", 100).text)))
    assert canvas[2] == ["", "104", "", "", "", ""]
