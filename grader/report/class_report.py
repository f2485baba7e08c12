"""The batch's class report, written at the end of every batch and by ``cnnkit report OUT``.

Everything is read from OUT (``<student>/grade.json``, ``summary.json``), so
the report is rebuilt without grading anyone again. Writes, atomically:

- ``class.html`` (:mod:`cnnkit.grader.report.class_page`);
- ``scores.csv`` (student, total, one column per test group);
- with the submissions at hand: ``similarity.csv`` (every pair compared,
  highest score first) and ``similarity.json`` (the same, with the code and
  matching regions of the most alike pairs, so a later ``cnnkit report OUT``
  shows them without the submissions); without them, the previous
  ``similarity.json``, re-flagged at the threshold given;
- with a roster: ``canvas.csv`` in Canvas's gradebook-import format.
"""
import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import class_page, exports, similarity
from .atomic import write_json, write_text
from .step import RECORD


@dataclass
class ClassReport:
    """What was written, as data."""
    out: Path
    files: list = field(default_factory=list)
    flagged: list = field(default_factory=list)          # (student_a, student_b, score)
    similarity_seconds: float | None = None
    canvas: exports.CanvasExport | None = None


def load_out(out):
    """``(records, summary)`` of a graded OUT folder; ValueError when it is not one."""
    out = Path(out)
    try:
        summary = json.loads((out / "summary.json").read_text())
    except OSError as err:
        raise ValueError(f"{out} has no readable summary.json: not a graded batch "
                         f"(run cnnkit grade first)") from err
    records = []
    for path in sorted(out.glob(f"*/{RECORD}")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: cannot read it ({err})") from err
    return records, summary


def similarity_csv(data):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student_a", "student_b", "score", "flagged", "functions"])
    for p in data["pairs"]:
        writer.writerow([p["student_a"], p["student_b"], f"{p['score']:.3f}",
                         "yes" if p["flagged"] else "no", "; ".join(p["functions"])])
    return buf.getvalue()


def similarity_data(result):
    """The JSON form of a :class:`~cnnkit.grader.report.similarity.SimilarityResult`."""
    shown = {p.student_a for p in result.pairs if p.slices_a} | {
        p.student_b for p in result.pairs if p.slices_a}
    return {"threshold": result.threshold, "compared_pairs": result.compared_pairs,
            "seconds": round(result.seconds, 2), "students": len(result.codes),
            "floor": result.threshold * similarity.PREFILTER, "left_out": result.left_out,
            "pairs": [asdict(p) for p in result.pairs],
            "codes": {k: {"text": c.text, "spans": c.spans} for k, c in result.codes.items()
                      if k in shown}}


def reflag(data, threshold):
    """Stored pairs flagged again at ``threshold`` (it must not go below what was stored)."""
    threshold = similarity.check_threshold(threshold)
    if threshold < data["floor"]:
        raise ValueError(f"similarity.json holds pairs scoring {data['floor']:g} or more; for "
                         f"a threshold of {threshold:g} compare again with --submissions")
    for p in data["pairs"]:
        p["flagged"] = p["score"] >= threshold
    data["threshold"] = threshold
    return data


def write_class_report(out, records=None, summary=None, submissions=None, archive=None,
                       threshold=None, roster=None, canvas_id=None, progress=False):
    """Write ``class.html`` and the exports into ``out``; returns a :class:`ClassReport`.

    Parameters
    ----------
    out : the batch's report folder.
    records, summary : the batch's records and summary (read from ``out`` when None).
    submissions : ``{student_id: folder}`` for copy detection; None reuses ``similarity.json``.
    archive : ``{id: folder}`` of earlier submissions to compare against.
    threshold : similarity score from which a pair is flagged (default
        :data:`cnnkit.grader.report.similarity.THRESHOLD`).
    roster : path of the roster CSV for ``canvas.csv`` (see :mod:`cnnkit.grader.report.exports`).
    canvas_id : Canvas's id of the assignment, for the column header.
    progress : progress bars while detecting copies.
    """
    out = Path(out)
    if records is None or summary is None:
        records, summary = load_out(out)
    report = ClassReport(out)
    write_text(out / "scores.csv", exports.scores_csv(records, class_page.group_names(records)))
    report.files.append("scores.csv")
    if roster is not None:
        report.canvas = exports.canvas_csv(
            records, exports.read_roster(roster), summary.get("assignment", "assignment"),
            summary.get("max_total", 0), canvas_id)
        write_text(out / "canvas.csv", report.canvas.text)
        report.files.append("canvas.csv")
    data = None
    if submissions is not None and not similarity.available():
        data = {"missing": "copy detection needs the copydetect package: "
                           "pip install 'cnnkit[grader]'"}
    elif submissions is not None:
        try:
            given = similarity.given_code()
        except Exception as err:  # no assignment source to build the release from
            given, data = None, {"missing": f"copy detection needs the release's given code, "
                                            f"built from the assignment source ({err})"}
        if given is not None:
            result = similarity.detect(
                submissions, archive, threshold if threshold is not None else
                similarity.THRESHOLD, given=given, progress=progress)
            data = similarity_data(result)
            write_json(out / "similarity.json", data)
    elif submissions is None and (out / "similarity.json").is_file():
        data = json.loads((out / "similarity.json").read_text())
        if threshold is not None:
            data = reflag(data, threshold)
            write_json(out / "similarity.json", data)
    if data is not None and "pairs" in data:
        write_text(out / "similarity.csv", similarity_csv(data))
        report.files.append("similarity.csv")
        report.flagged = [(p["student_a"], p["student_b"], p["score"])
                          for p in data["pairs"] if p["flagged"]]
        report.similarity_seconds = data["seconds"]
    links = ["grades.csv", "summary.json", *report.files]
    write_text(out / "class.html", class_page.render(records, summary, data, links))
    report.files.insert(0, "class.html")
    return report
