"""Check your homework before you submit it, then write ``submission.zip``.

Run it from your homework folder (or as the last cell of the last notebook)::

    python -m utils.submit

It checks what the grader will look for, using the grader's own rules
(``utils/submission_rules.json``):

- the layout: the files with your work, importable, with every graded function;
- every visible check of the notebooks, run again in a fresh process (on
  small data, ``CNNKIT_SMALL=1``, so it takes a minute or two);
- that each notebook was saved after running top to bottom (Restart and Run All);
- the challenge checkpoint: present, loadable with your own model code, and
  its validation accuracy on the CIFAR-10 data you have;

then writes ``submission.zip`` (your homework folder without data, caches and
files over the size limit) and lists what it left out. Every problem is one
line saying what to do. Upload the zip as it is.
"""
import argparse
import fnmatch
import json
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .submit_checks import cell_plans, load_rules, order_problem, run_fresh

HOMEWORK = Path(__file__).resolve().parents[1]


@dataclass
class SubmissionReport:
    """What the check found, as data: ``lines`` (passed), ``notes`` (worth knowing),
    ``problems`` (one line each), ``left_out`` ({reason: [paths]}) and the ``zip`` written."""
    lines: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    left_out: dict = field(default_factory=dict)
    zip: Path = None

    @property
    def ok(self):
        return not self.problems


def check_layout(folder, rules, report, timeout):
    functions = rules["functions"]
    missing = [path for path in functions if not (folder / path).is_file()]
    for path in missing:
        report.problems.append(f"{path} is missing: the grader imports "
                               f"{', '.join(functions[path])} from it")
    present = {p: names for p, names in functions.items() if p not in missing}
    found = run_fresh(folder, "names", present, timeout) if present else {}
    if "error" in found and not isinstance(found["error"], dict):
        report.problems.append(f"importing your files failed: {found['error']}")
        return
    for path, result in found.items():
        if result.get("error"):
            report.problems.append(f"{path} does not import: {result['error']}")
        elif result["missing"]:
            report.problems.append(f"{path} has no {', '.join(result['missing'])}: the grader "
                                   "calls it by that name")
        if (folder / path).stat().st_size > rules["max_source_bytes"]:
            report.problems.append(f"{path} is over {rules['max_source_bytes'] >> 20} MB: the "
                                   "grader does not run files that large")
    count = sum(len(n) for n in functions.values())
    if not missing and all(not r.get("error") and not r["missing"] for r in found.values()):
        report.lines.append(f"layout: {', '.join(functions)} import, with all {count} graded "
                            "functions and classes")


def _notebooks(folder):
    for path in sorted(folder.glob("*.ipynb")):
        try:
            yield path.name, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            yield path.name, err


def check_notebooks(folder, report, timeout):
    passed, skipped, in_order = 0, [], True
    for name, notebook in _notebooks(folder):
        if isinstance(notebook, Exception):
            report.problems.append(f"{name} is not a readable notebook ({notebook}); open it in "
                                   "Jupyter and save it again")
            continue
        problem = order_problem(name, notebook)
        if problem:
            report.problems.append(problem)
            in_order = False
        cells, not_rerun = cell_plans(notebook)
        skipped += [f"{name}: {check} (needs your cell {own})" for check, own in not_rerun.items()]
        if not cells:
            continue
        outcome = run_fresh(folder, "cells", cells, timeout)
        if "error" in outcome:
            report.problems.append(f"{name}: the visible checks could not run: {outcome['error']}")
            continue
        names = {c["index"]: c["name"] for c in cells}
        blocked = {}   # failed cell -> graded checks that could not run after it
        for cell in cells:
            result = outcome.get(str(cell["index"]), {"status": "failed", "message": "not run"})
            if not cell["graded"]:
                continue
            if result["status"] == "passed":
                passed += 1
            elif result["status"] == "not run":
                blocked.setdefault(result["because"], []).append(cell["name"])
            else:
                report.problems.append(f"{name}, check {cell['name']}: {result['message']}")
        for cause, checks in blocked.items():
            report.problems.append(
                f"{name}, {names[cause]}: {outcome[str(cause)]['message']}; so "
                f"{len(checks)} check(s) could not run ({', '.join(checks)})")
    report.lines.append(f"visible checks rerun in a fresh process on small data: {passed} passed")
    if skipped:
        report.notes.append("not rerun here, as they need your own training (the checkpoint "
                            "check covers them): " + "; ".join(skipped))
    if in_order:
        report.lines.append("notebooks saved after running in order")


def find_checkpoint(folder, rules):
    for base in rules["checkpoint"]:
        if all((folder / (base + suffix)).is_file() for suffix in (".npz", ".json")):
            return base
    return None


def check_checkpoint(folder, rules, report, timeout):
    base = find_checkpoint(folder, rules)
    if base is None:
        first = rules["checkpoint"][0]
        report.problems.append(f"no challenge checkpoint: the grader looks for {first}.npz and "
                               f"{first}.json, which the last notebook's challenge saves")
        return
    result = run_fresh(folder, "checkpoint", {"base": base}, timeout)
    if "error" in result:
        report.problems.append(f"{base} does not load with your model code: {result['error']}")
    elif "no_data" in result:
        report.lines.append(f"checkpoint {base} loads ({result['model']})")
        report.notes.append(f"validation accuracy not measured: no CIFAR-10 data here "
                            f"({result['no_data']}); set CNNKIT_DATA to the archive")
    else:
        target = rules["full_accuracy"]
        verdict = "" if result["accuracy"] >= target else f", below the {target:.0%} target"
        report.lines.append(f"checkpoint {base} loads ({result['model']}); validation accuracy "
                            f"{result['accuracy']:.3f} on {result['images']} images{verdict}")


def _left_out(rel, size, rules):
    """Why ``rel`` stays out of the zip ('' when it goes in)."""
    parts = rel.split("/")
    if any(p in rules["skip_dirs"] for p in parts) or \
            any(fnmatch.fnmatch(p, pat) for p in parts for pat in rules["cache_patterns"]):
        return "caches and build files"
    if any(fnmatch.fnmatch(p, pat) for p in parts for pat in rules["data_patterns"]):
        return "data (the grader has its own)"
    if size > rules["max_file_bytes"]:
        return f"files over {rules['max_file_bytes'] >> 20} MB"
    return ""


def write_zip(folder, out, rules, report):
    """Write the homework folder into ``out``; record what stayed out."""
    chosen, total = [], 0
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or path.resolve() == out.resolve():
                continue
            why = _left_out(rel, path.stat().st_size, rules)
            if why:
                report.left_out.setdefault(why, []).append(rel)
            else:
                chosen.append((rel, path))
                total += path.stat().st_size
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, path in chosen:
            archive.write(path, rel)
    os.replace(tmp, out)
    report.zip = out
    report.lines.append(f"wrote {out} ({len(chosen)} files, {total / 1e6:.1f} MB before "
                        "compression)")
    for why, paths in sorted(report.left_out.items()):
        tops = sorted({p.split("/")[0] + ("/" if "/" in p else "") for p in paths})
        report.notes.append(f"left out {why}: {len(paths)} files ({', '.join(tops[:6])}"
                            f"{', ...' if len(tops) > 6 else ''})")
    if any(why.startswith("files over") for why in report.left_out):
        report.problems.append(f"some files are over {rules['max_file_bytes'] >> 20} MB and "
                               "were left out: " + ", ".join(
                                   next(v for k, v in report.left_out.items()
                                        if k.startswith("files over"))[:5]))


def check_submission(folder=HOMEWORK, out=None, timeout=600, checks=True):
    """Check the homework in ``folder`` and write ``out`` (default ``folder/submission.zip``).

    Returns a :class:`SubmissionReport`.
    """
    folder = Path(folder).resolve()
    out = Path(out) if out else folder / "submission.zip"
    rules = load_rules()
    report = SubmissionReport()
    check_layout(folder, rules, report, timeout)
    if checks:
        check_notebooks(folder, report, timeout)
        check_checkpoint(folder, rules, report, timeout)
    write_zip(folder, out, rules, report)
    return report


def main(argv=None):
    """Command line: check, write the zip, print one line per finding; 1 if any problem."""
    parser = argparse.ArgumentParser(prog="python -m utils.submit", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=str(HOMEWORK), help="homework folder (default: "
                        "the one holding this utils/ package)")
    parser.add_argument("--out", help="zip to write (default: FOLDER/submission.zip)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds allowed for each fresh-process check (default 600)")
    args = parser.parse_args(argv)
    print(f"Checking {Path(args.folder).resolve()} as the grader will see it ...", flush=True)
    report = check_submission(args.folder, args.out, args.timeout)
    for line in report.lines:
        print(f"  ok: {line}")
    for note in report.notes:
        print(f"  note: {note}")
    for problem in report.problems:
        print(f"  PROBLEM: {problem}")
    if report.problems:
        print(f"{len(report.problems)} problem(s): fix them, then run this check again. "
              f"{report.zip.name} was written anyway, so you can still submit what you have.")
        return 1
    print(f"All checks passed: upload {report.zip} as it is.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
