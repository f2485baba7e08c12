"""``class.html``: the class at a glance, one self-contained page (no external requests).

Sections: scores (plots), pass rate per kind of hidden case, the most common
failures, statuses and timings, copy detection (flagged pairs side by side,
matching regions highlighted) and every student with a link to their
feedback page. It prints: plots are SVG, and nothing is hidden behind a click.
"""
import html

from . import class_plots, class_stats

#: flagged pairs listed in the page (similarity.csv lists them all)
MAX_PAIRS_LISTED = 200
#: partners named per student in the students' table
MAX_PARTNERS = 5

STYLE = """body{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;
color:#222}h1{font-size:1.6em}h2{margin-top:2em;border-bottom:2px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}td.n,th.n{text-align:right}.msg,code,pre{
font-family:ui-monospace,monospace;font-size:.85em;white-space:pre-wrap}
.plot svg{max-width:100%;height:auto}.note{background:#fff3cd;padding:.5em}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.8em}.pair pre{border:1px solid #ccc;
padding:.5em;margin:0;overflow-x:auto;font-size:.75em}mark{background:#ffd166}
.flag{color:#b00020;font-weight:bold}.bar{display:inline-block;height:.8em;background:#4c72b0}
nav a{margin-right:1em}.scroll{overflow-x:auto}th{overflow-wrap:break-word;font-size:.85em}
.msg{overflow-wrap:anywhere}
@media print{nav{display:none}.scroll{overflow:visible}h2{break-before:auto}.pair{break-inside:avoid}a{color:#222}}"""


def group_names(records):
    """The test groups, from the first record that has them."""
    return next(([g["name"] for g in r["groups"]] for r in records if r["groups"]), [])


def _e(text):
    return html.escape(str(text))


def _table(header, rows, numeric=()):
    names = [_e(h).replace("_", "_<wbr>") for h in header]  # group names break at "_"
    head = "".join(f"<th class='n'>{h}</th>" if i in numeric else f"<th>{h}</th>"
                   for i, h in enumerate(names))
    body = "".join("<tr>" + "".join(f"<td class='n'>{c}</td>" if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _link(student):
    return f"<a href='{_e(student)}/feedback.html'>{_e(student)}</a>"


def _scores(records, summary):
    graded = class_stats.graded(records)
    if not graded:
        return "<h2 id='scores'>Scores</h2><p>No student was graded.</p>"
    names = [g["name"] for g in graded[0]["groups"]]
    points = {g["name"]: g["max_score"] for g in graded[0]["groups"]}
    totals = [r["total"] for r in graded]
    mean = sum(totals) / len(totals)
    median = sorted(totals)[len(totals) // 2]
    parts = ["<h2 id='scores'>Scores</h2>",
             f"<p>{len(graded)} graded students: mean {mean:.1f}, median {median:g} of "
             f"{summary.get('max_total', graded[0]['max_total']):g} points.</p>",
             "<div class='plot'>", class_plots.total_histogram(totals, graded[0]["max_total"]),
             "</div><div class='plot'>",
             class_plots.group_histograms(class_stats.group_fractions(records, names), points),
             "</div>"]
    return "".join(parts)


def _kinds(records):
    rates = class_stats.kind_pass_rates(records)
    if not rates:
        return ""
    rows = []
    for group, kinds in rates.items():
        for r in kinds:
            bar = f"<span class='bar' style='width:{4 * r.rate:.2f}em'></span>"
            rows.append([_e(group), _e(r.kind), f"{r.passed} / {r.cases}",
                         f"{100 * r.rate:.0f}% {bar}", str(len(r.students_failing))])
    return ("<h2 id='kinds'>Pass rate per kind of hidden case</h2>"
            "<p>Each hidden case varies something (stride, padding, window shape, mode ...); a "
            "kind's pass rate counts every case of that kind over all graded students. A low "
            "rate points at the idea to explain again.</p>"
            f"<div class='plot'>{class_plots.kind_rates(rates)}</div>"
            + _table(["test group", "kind", "cases passed", "rate", "students failing"], rows,
                     numeric=(2, 4)))


def _failures(records):
    groups = class_stats.common_failures(records)
    if not groups:
        return "<h2 id='failures'>Most common failures</h2><p>No case failed.</p>"
    rows = [[_e(f.group), _e(f.status), f"<span class='msg'>{_e(f.pattern)}</span>",
             str(len(f.students)), str(f.cases),
             f"<span class='msg'>{_e(f.example)}</span>"] for f in groups]
    return ("<h2 id='failures'>Most common failures</h2><p>Messages grouped with their numbers, "
            "indices and shapes replaced by <code>#</code>, most students first.</p>"
            + _table(["test group", "status", "message", "students", "cases", "one example"],
                     rows, numeric=(3, 4)))


def _statuses(records, summary):
    parts = ["<h2 id='statuses'>Statuses, timings, isolation</h2>"]
    by_status = summary.get("students_by_status") or {}
    parts.append("<p>Students: " + ", ".join(f"{_e(k)} {v}" for k, v in sorted(by_status.items()))
                 + "</p>")
    ungradable = [r for r in records if r["status"] != "graded"]
    if ungradable:
        parts.append("<h3>Not graded</h3>" + _table(
            ["student", "reason"], [[_link(r["student_id"]), _e(r["reason"])] for r in ungradable]))
    counts = class_stats.case_status_counts(records)
    statuses = sorted({s for c in counts.values() for s in c} - {"passed"})
    if statuses:
        rows = [[_e(g), *(str(c.get(s, 0)) for s in statuses)] for g, c in counts.items()
                if any(c.get(s) for s in statuses)]
        parts.append("<h3>Cases that did not pass, by status</h3>"
                     + _table(["test group", *statuses], rows,
                              numeric=tuple(range(1, len(statuses) + 1))))
        for status in ("timeout", "oom", "crashed", "error"):
            who = class_stats.students_with(records, status)
            if who:
                items = "; ".join(f"{_link(s)} ({_e(', '.join(g))})" for s, g in sorted(who.items()))
                parts.append(f"<p><b>{_e(status)}</b>: {items}</p>")
    timing = summary.get("timing") or {}
    if timing:
        parts.append("<h3>Timing</h3>" + _table(
            ["measure", "value"], [[_e(k), _e(v)] for k, v in timing.items() if v is not None]))
    seconds = [r["seconds"] for r in class_stats.graded(records)]
    if seconds:
        parts.append(f"<div class='plot'>{class_plots.timing_histogram(seconds)}</div>")
    isolation = summary.get("isolation")
    if isolation:
        shown = isolation if isinstance(isolation, str) else "; ".join(isolation)
        parts.append(f"<h3>Isolation</h3><p class='msg'>{_e(shown)}</p>")
    return "".join(parts)


def _highlight(text, slices):
    """``text`` escaped, with each ``[start, end]`` region wrapped in ``<mark>``."""
    out, pos = [], 0
    for start, end in sorted(slices):
        start = max(start, pos)
        if end <= start:
            continue
        out += [_e(text[pos:start]), f"<mark>{_e(text[start:end])}</mark>"]
        pos = end
    out.append(_e(text[pos:]))
    return "".join(out)


def _similarity(data):
    if data is None:
        return ("<h2 id='similarity'>Copy detection</h2><p>Not run for this report (run "
                "<code>cnnkit report OUT --submissions SUBMISSIONS</code>).</p>")
    if "missing" in data:
        return f"<h2 id='similarity'>Copy detection</h2><p class='note'>{_e(data['missing'])}</p>"
    flagged = [p for p in data["pairs"] if p["flagged"]]
    parts = ["<h2 id='similarity'>Copy detection</h2>",
             f"<p>{data['students']} students' own code (the functions they wrote, the "
             f"release's given code left out) compared with winnowing fingerprints; "
             f"{data['compared_pairs']} pairs compared exactly in {data['seconds']:.1f} s; "
             f"pairs scoring {data['threshold']:g} or more are flagged. A flagged pair is "
             "evidence for a person to review: it changes no grade. All scored pairs: "
             "<a href='similarity.csv'>similarity.csv</a>.</p>"]
    if data.get("left_out"):
        parts.append("<p>Not compared: " + "; ".join(
            f"{_e(s)} ({_e(why)})" for s, why in sorted(data["left_out"].items())) + "</p>")
    if not flagged:
        parts.append("<p>No pair reached the threshold.</p>")
        return "".join(parts)
    shown = [p for p in flagged if p["slices_a"]]
    rows = [[f"<a href='#pair{k}'>{_e(p['student_a'])}</a>" if p in shown
             else _e(p["student_a"]), _e(p["student_b"]),
             f"<span class='flag'>{p['score']:.2f}</span>", _e(", ".join(p["functions"]))]
            for k, p in enumerate(flagged[:MAX_PAIRS_LISTED])]
    parts.append(_table(["student", "alike", "score", "overlapping functions"], rows,
                        numeric=(2,)))
    if len(flagged) > len(shown):
        parts.append(f"<p class='note'>{len(flagged)} flagged pairs; listed above: the first "
                     f"{min(len(flagged), MAX_PAIRS_LISTED)}, side by side below: the first "
                     f"{len(shown)} (all in similarity.csv).</p>")
    for k, p in enumerate(shown):
        a, b = data["codes"][p["student_a"]], data["codes"][p["student_b"]]
        parts.append(f"<h3 id='pair{k}'>{_e(p['student_a'])} and {_e(p['student_b'])}: "
                     f"{p['score']:.2f}</h3><div class='pair'>"
                     f"<pre>{_highlight(a['text'], p['slices_a'])}</pre>"
                     f"<pre>{_highlight(b['text'], p['slices_b'])}</pre></div>")
    return "".join(parts)


def _students(records, data):
    flagged = {}
    for p in (data or {}).get("pairs", []):
        if p["flagged"]:
            flagged.setdefault(p["student_a"], []).append(p["student_b"])
            flagged.setdefault(p["student_b"], []).append(p["student_a"])
    names = group_names(records)
    rows = []
    for r in records:
        if r["total"] is None:  # the grader failed on this student: no score, not even a zero
            rows.append([_link(r["student_id"]), _e(r["status"]), "", *("" for _ in names), "",
                         ""])
            continue
        points = {g["name"]: g["score"] for g in r["groups"]}
        partners = flagged.get(r["student_id"], [])
        alike = ", ".join(partners[:MAX_PARTNERS]) + (
            f" and {len(partners) - MAX_PARTNERS} more" if len(partners) > MAX_PARTNERS else "")
        rows.append([_link(r["student_id"]), _e(r["status"]), f"{r['total']:g}",
                     *(f"{points.get(n, 0):g}" for n in names), f"{r['seconds']:.1f}",
                     f"<span class='flag'>{_e(alike)}</span>" if alike else ""])
    return ("<h2 id='students'>Students</h2><p>Each name opens the student's feedback page.</p>"
            + _table(["student", "status", "total", *names, "seconds", "alike (flagged)"],
                     rows, numeric=tuple(range(2, 4 + len(names)))))


def render(records, summary, similarity=None, exports=()):
    """The page's HTML. ``similarity``: the dict of ``similarity.json`` (or None)."""
    records = sorted(records, key=lambda r: r["student_id"])
    title = f"{summary.get('assignment', 'assignment')}: the class at a glance"
    links = "".join(f"<a href='{_e(name)}'>{_e(name)}</a> " for name in exports)
    nav = ("<nav><a href='#scores'>scores</a><a href='#kinds'>kinds of case</a>"
           "<a href='#failures'>failures</a><a href='#statuses'>statuses</a>"
           "<a href='#similarity'>copy detection</a><a href='#students'>students</a></nav>")
    body = [f"<h1>{_e(title)}</h1>",
            f"<p>{len(records)} students; secret {_e(summary.get('secret_fingerprint', '?'))}. "
            f"Files: {links}</p>", nav, _scores(records, summary), _kinds(records),
            _failures(records), _statuses(records, summary), _similarity(similarity),
            _students(records, similarity)]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")
