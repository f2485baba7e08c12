"""The student's ``feedback.html``: per group its score, each case's status and message."""
import html

STATUS_COLOURS = {"passed": "#1a7f37", "failed": "#b35900", "error": "#b00020",
                  "timeout": "#6f42c1", "oom": "#6f42c1", "crashed": "#b00020"}

STYLE = """body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;
color:#222}h1{font-size:1.5em}table{border-collapse:collapse;width:100%}td,th{padding:.3em .5em;
border-bottom:1px solid #ddd;text-align:left;vertical-align:top}.st{font-weight:bold}
.note{background:#fff3cd;padding:.5em}code,.msg{font-family:ui-monospace,monospace;
font-size:.9em;white-space:pre-wrap}section{margin:1.5em 0}"""


def _status(status):
    colour = STATUS_COLOURS.get(status, "#222")
    return f'<span class="st" style="color:{colour}">{html.escape(status)}</span>'


def render(record):
    """The HTML page of one student's grading record (as written to grade.json)."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Feedback: {e(record['student_id'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(record['assignment'])}: feedback for {e(record['student_id'])}</h1>",
             f"<p><b>Total: {record['total']:g} / {record['max_total']:g}</b></p>"
             if record["total"] is not None else "<p><b>Not graded yet.</b></p>"]
    if record["status"] == "grader_error":
        parts.append(f"<p class='note'>The grader failed on your submission; this is not your "
                     f"fault, and your instructor will grade it again ({e(record['reason'])}).</p>")
    elif record["status"] != "graded":
        parts.append(f"<p class='note'>Your submission could not be graded: "
                     f"{e(record['reason'])}</p>")
    if record.get("notebook_edits"):
        items = "".join(f"<li>{e(f['notebook'])}" + (f" cell <code>{e(f['grade_id'])}</code>"
                                                    if f["grade_id"] else "")
                        + f": {e(f['problem'])}</li>" for f in record["notebook_edits"])
        parts.append("<div class='note'>Protected notebook cells (tests and locked cells) differ "
                     "from the release; they earn nothing here, but your instructor sees this:"
                     f"<ul>{items}</ul></div>")
    parts.append("<table><tr><th>test group</th><th>score</th><th>cases passed</th></tr>")
    for g in record["groups"]:
        passed = sum(c["status"] == "passed" for c in g["cases"])
        parts.append(f"<tr><td><a href='#{e(g['name'])}'>{e(g['name'])}</a></td>"
                     f"<td>{g['score']:g} / {g['max_score']:g}</td>"
                     f"<td>{passed} / {len(g['cases'])}</td></tr>")
    parts.append("</table>")
    for g in record["groups"]:
        parts.append(f"<section id='{e(g['name'])}'><h2>{e(g['name'])}: "
                     f"{g['score']:g} / {g['max_score']:g}</h2>")
        if g.get("note"):
            parts.append(f"<p class='note'>{e(g['note'])}</p>")
        parts.append("<table><tr><th>case</th><th>status</th><th>message</th></tr>")
        for c in g["cases"]:
            parts.append(f"<tr><td>{c['index']}</td><td>{_status(c['status'])}</td>"
                         f"<td class='msg'>{e(c['message'])}</td></tr>")
        parts.append("</table></section>")
    parts.append("<p>Hidden cases are drawn at random for the course; each message names the "
                 "case, the shapes and parameters, and the first place your result differs."
                 "</p></body></html>\n")
    return "\n".join(parts)
