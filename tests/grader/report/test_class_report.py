"""The class report: written at the end of a batch, rebuilt by ``cnnkit report OUT``, and
opened in headless Chromium with every non-local request blocked.

The batch is the copy-detection class (six honest students, three of them wrong in their own
ways, and two planted copies) graded for real. Set CNNKIT_SAVE_SCREENSHOT=1 to also refresh
the README's screenshot from the demo batch (``cnnkit demo``).
"""
import csv
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from cnnkit.grader.cli import main
from honest_students import build_class
from offline_browser import ARGS, CHROMIUM, block_non_local, served

pytest.importorskip("copydetect")

README_SHOT = Path(__file__).resolve().parents[3] / "grader" / "demo" / "class_report.png"


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, builds, secret_file):
    """``(submissions, out, BatchResult)`` of the class, graded once."""
    from cnnkit.grader.api import grade_submissions
    root = tmp_path_factory.mktemp("graded_class")
    build_class(root / "submissions", builds["stub"])
    (root / "submissions" / "ivan").mkdir()
    (root / "submissions" / "ivan" / "answers.txt").write_text("wrong upload")
    result = grade_submissions(root / "submissions", root / "out", workers=2, timeout=20,
                               secret=secret_file)
    return root / "submissions", root / "out", result


def test_class_report_is_written_at_the_end_of_the_batch(graded_class):
    _, out, result = graded_class
    assert {"class.html", "scores.csv", "similarity.csv", "similarity.json"} <= {
        p.name for p in out.iterdir()}
    assert {(a, b) for a, b, _ in result.class_report.flagged} == {("alice", "grace"),
                                                                   ("bob", "heidi")}
    page = (out / "class.html").read_text()
    for student in ("alice", "bob", "erin", "heidi", "ivan"):
        assert f"href='{student}/feedback.html'" in page
    assert page.count("<svg") == 4
    assert not re.search(r"""(src|href)=['"]?https?:|url\((?!#)|@import""", page)  # nothing to fetch
    assert "no nndl/ folder found" in page                     # ivan, with the reason
    rows = list(csv.DictReader((out / "similarity.csv").open()))
    assert [(r["student_a"], r["student_b"], r["flagged"]) for r in rows[:2]] == [
        ("alice", "grace", "yes"), ("bob", "heidi", "yes")]
    assert "nndl/conv_layers.py:conv_forward_naive" in rows[0]["functions"]


def test_a_real_mistake_shows_in_its_kinds(graded_class):
    """Erin pads nothing: every padded forward case of hers goes wrong, none without padding."""
    from cnnkit.grader.report.class_report import load_out
    from cnnkit.grader.report.class_stats import kind_pass_rates
    _, out, _ = graded_class
    records, _ = load_out(out)
    erin = next(r for r in records if r["student_id"] == "erin")
    conv = next(g for g in erin["groups"] if g["name"] == "conv_forward_naive")
    padded = {c["status"] for c in conv["cases"] if "pad 0" not in c["kinds"]}
    assert "passed" not in padded
    assert {c["status"] for c in conv["cases"] if "pad 0" in c["kinds"]} == {"passed"}
    rates = {r.kind: r for r in kind_pass_rates(records)["conv_forward_naive"]}
    assert "erin" in rates["pad 1"].students_failing
    assert "erin" not in rates["pad 0"].students_failing


def test_cnnkit_report_rebuilds_from_out_without_grading(graded_class, tmp_path, capsys):
    _, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "class.html").unlink()
    stamps = {p: p.stat().st_mtime_ns for p in copy.glob("*/grade.json")}
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,Student,SIS Login ID,Section\nalice,\"Liddell, Alice\",al,A\n")
    assert main(["report", str(copy), "--similarity-threshold", "0.95", "--roster", str(roster),
                 "--canvas-assignment-id", "42", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"class report: {copy / 'class.html'}" in printed
    assert "alice ~ grace: 1.00" in printed and "bob ~ heidi" not in printed  # 0.92 < 0.95
    assert (copy / "class.html").is_file()
    assert {p: p.stat().st_mtime_ns for p in copy.glob("*/grade.json")} == stamps
    canvas = list(csv.reader((copy / "canvas.csv").open()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "cnn (42)"]
    assert canvas[2][0] == "Liddell, Alice" and float(canvas[2][5]) > 0
    assert "canvas.csv: not in the roster, left out: bob, carol" in printed


def test_cnnkit_report_compares_again_with_the_submissions(graded_class, tmp_path, capsys):
    subs, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    assert main(["report", str(copy), "--submissions", str(subs), "--similarity-threshold",
                 "0.95", "--no-progress"]) == 0
    data = json.loads((copy / "similarity.json").read_text())
    assert [(p["student_a"], p["student_b"]) for p in data["pairs"] if p["flagged"]] == [
        ("alice", "grace")]


@pytest.mark.parametrize("args, message", [
    (["--similarity-threshold", "0"], "similarity_threshold must be from 0.01 to 1, got 0.0"),
    (["--similarity-threshold", "0.1"], "compare again with --submissions"),
    (["--roster", "/nonexistent/roster.csv"], "--roster: roster /nonexistent/roster.csv"),
    (["--archive", "/nonexistent"], "--archive /nonexistent: not a folder"),
])
def test_cnnkit_report_names_bad_options(graded_class, tmp_path, capsys, args, message):
    _, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    assert main(["report", str(copy), "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err


def test_cnnkit_report_on_a_folder_that_was_never_graded(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "has no readable summary.json: not a graded batch" in capsys.readouterr().err


def test_cnnkit_grade_checks_the_threshold_before_grading(tmp_path, builds, capsys):
    assert main(["grade", str(builds["stub"].parent), "--out", str(tmp_path / "o"),
                 "--similarity-threshold", "2"]) == 2
    assert "similarity_threshold must be from 0.01 to 1, got 2.0" in capsys.readouterr().err
    assert not (tmp_path / "o" / "grades.csv").exists()


# ------------------------------------------------------------------ in the browser

def open_class_page(folder, shots, width=1280):
    """Open ``folder/class.html`` offline; returns what the page showed, with screenshots."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with served(folder) as base, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        blocked, failed = block_non_local(page, base)
        page.goto(f"{base}/class.html")
        page.wait_for_load_state("load")
        seen = page.evaluate("""() => ({
            plots: [...document.querySelectorAll('.plot svg')].map(s => {
                const r = s.getBoundingClientRect();
                return [r.width, r.height, s.querySelectorAll('path, use').length]; }),
            marks: document.querySelectorAll('.pair mark').length,
            pairs: document.querySelectorAll('.pair').length,
            links: [...document.querySelectorAll('a[href$="feedback.html"]')].length,
            overflow: document.documentElement.scrollWidth - window.innerWidth})""")
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "class_top.png"))
        page.screenshot(path=str(shots / "class_full.png"), full_page=True)
        if page.locator("#similarity").count():
            page.locator("#similarity").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "class_similarity.png"))
        feedback = page.locator('a[href$="feedback.html"]').first
        if feedback.count():
            feedback.click()
            page.wait_for_load_state("load")
            seen["followed"] = page.url
        browser.close()
    seen.update(blocked=blocked, failed=failed)
    return seen


@pytest.mark.browser
def test_class_page_in_headless_chromium(graded_class, tmp_path):
    _, out, _ = graded_class
    shots = Path(os.environ.get("CNNKIT_SCREENSHOTS", tmp_path / "screenshots"))
    seen = open_class_page(out, shots)
    assert seen["blocked"] == [] and seen["failed"] == []
    assert len(seen["plots"]) == 4
    for width, height, marks in seen["plots"]:
        assert width > 300 and height > 100 and marks > 20      # drawn, not empty boxes
    assert seen["pairs"] == 2 and seen["marks"] >= 4            # both copies, highlighted
    assert seen["links"] >= 9 and seen["followed"].endswith("/feedback.html")
    assert seen["overflow"] <= 0                                # nothing wider than the window
    for name in ("class_top.png", "class_full.png", "class_similarity.png"):
        assert (shots / name).stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.skipif(not os.environ.get("CNNKIT_SAVE_SCREENSHOT"),
                    reason="set CNNKIT_SAVE_SCREENSHOT=1 to refresh the README screenshot")
def test_refresh_readme_screenshot_from_the_demo(tmp_path):
    """``cnnkit demo`` (three students), then the top of its class.html, for the README."""
    from PIL import Image
    data = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "cifar-10-python.tar.xz"
    assert main(["demo", str(tmp_path / "demo"),
                 *(["--data", str(data)] if data.is_file() else [])]) == 0
    seen = open_class_page(tmp_path / "demo" / "reports", tmp_path / "shots", width=1000)
    assert seen["blocked"] == [] and seen["failed"] == []
    image = Image.open(tmp_path / "shots" / "class_full.png")
    image = image.crop((0, 0, image.width, min(image.height, 2000)))
    image = image.resize((image.width * 7 // 10, image.height * 7 // 10), Image.LANCZOS)
    image.convert("P", palette=Image.ADAPTIVE, colors=64).save(README_SHOT, optimize=True)


def test_without_the_assignment_source_the_page_says_so(graded_class, tmp_path, monkeypatch):
    """A wheel without the course source: the class report is written, copy detection names
    what it is missing."""
    from cnnkit.grader.report import class_report, similarity
    subs, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)

    def no_source():
        raise FileNotFoundError("assignments/source/cnn not found")
    monkeypatch.setattr(similarity, "given_code", no_source)
    report = class_report.write_class_report(copy, submissions={"alice": subs / "alice"})
    page = (copy / "class.html").read_text()
    assert "copy detection needs the release&#x27;s given code" in page
    assert "assignments/source/cnn not found" in page and report.flagged == []


def test_a_student_the_grader_failed_is_listed_without_a_score(graded_class, tmp_path):
    from cnnkit.grader.report import class_report
    _, out, _ = graded_class
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    record = json.loads((copy / "alice" / "grade.json").read_text())
    record.update(status="grader_error", reason="internal grader error (OSError: disk full)",
                  total=None, groups=[])
    (copy / "alice" / "grade.json").write_text(json.dumps(record))
    class_report.write_class_report(copy)
    page = (copy / "class.html").read_text()
    assert "internal grader error (OSError: disk full)" in page
    assert (copy / "scores.csv").read_text().splitlines()[1].startswith("alice,,")
