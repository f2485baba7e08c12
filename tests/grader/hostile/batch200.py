"""Benchmark (not a unit test): a large batch with 10% hostile submissions.

Builds N submissions (default 200): 90% honest, in a few variants derived from
the correct package (all correct, one function left as a stub, a typical
padding bug, the untouched release), 10% hostile, cycling through the cases of
``hostile_cases.py``. Grades them in ONE batch, then grades each honest variant alone,
and checks that every honest student's grade in the batch is identical to its
variant's grade alone (a grade depends only on the files and the secret, so
equal files must get equal grades), that no hostile student scores more than
the correct code in any group, and that nothing outside the sandboxes changed.

Run from the repository root (4-6 minutes on 2 busy cores)::

    python tests/grader/hostile/batch200.py --n 200 --workers 2

Prints a JSON report and exits non-zero when any check fails.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from hostile_cases import CASES, GROUPS  # noqa: E402
from hostile_grading import (SOURCE, drain, make_targets, probe_paths, snapshot,  # noqa: E402
                      write_tiny_cifar)
from hostile_patches import replace_function  # noqa: E402

from cnnkit.grader.api import grade_submissions  # noqa: E402
from cnnkit.grader.release.build import build_package  # noqa: E402


def _stub(name):
    def apply(folder):
        replace_function(folder / "nndl" / "conv_layers.py", name,
                         f"def {name}(*args):\n    raise NotImplementedError('todo')")
    return apply


def _padding_bug(folder):
    path = folder / "nndl" / "conv_layers.py"
    text = path.read_text()
    old = "stride, pad = conv_param['stride'], conv_param['pad']"
    assert old in text, "the correct conv_forward_naive changed: update the padding bug"
    path.write_text(text.replace(old, "stride, pad = conv_param['stride'], 0", 1))


HONEST_VARIANTS = {"correct": None, "pool_stub": _stub("max_pool_backward_naive"),
                   "bn_stub": _stub("spatial_batchnorm_forward"), "padding_bug": _padding_bug,
                   "release": "release"}


def build(root, n, hostile_fraction, port):
    correct, release = root / "correct", root / "release"
    build_package(SOURCE, correct, solutions=True)
    build_package(SOURCE, release, solutions=False)
    targets = make_targets(root, port)
    subs = targets.submissions
    subs.mkdir()
    variants = {}
    n_hostile = round(n * hostile_fraction)
    for i in range(n - n_hostile):
        name = list(HONEST_VARIANTS)[i % len(HONEST_VARIANTS)]
        sid = f"s{i:04d}_{name}"
        patch = HONEST_VARIANTS[name]
        shutil.copytree(release if patch == "release" else correct, subs / sid)
        if callable(patch):
            patch(subs / sid)
        variants[sid] = name
    hostile = {}
    for i in range(n_hostile):
        case = CASES[i % len(CASES)]
        sid = f"h{i:04d}_{case.sid}"
        shutil.copytree(correct, subs / sid)
        case.apply(subs / sid, targets)
        hostile[sid] = case
    return targets, variants, hostile


def grade_alone(root, targets, variants, data, settings):
    """The grade of each honest variant, graded alone (one student per batch)."""
    alone = {}
    for name in HONEST_VARIANTS:
        sid = next(s for s, v in variants.items() if v == name)
        subs = root / f"alone_{name}"
        subs.mkdir()
        shutil.copytree(targets.submissions / sid, subs / sid)
        result = grade_submissions(subs, root / f"out_alone_{name}", secret=targets.secret,
                                   data=data, **{**settings, "workers": 1})
        alone[name] = result.records[0]
    return alone


def comparable(record):
    return {"status": record["status"], "total": record["total"],
            "groups": [(g["name"], g["score"], g["note"],
                        [(c["index"], c["status"], c["message"]) for c in g["cases"]])
                       for g in record["groups"]]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="submissions in the batch")
    parser.add_argument("--hostile-fraction", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--memory", type=int, default=1024, help="MB per sandbox")
    parser.add_argument("--keep", type=Path, help="folder to keep everything in")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="cnnkit-batch200-"))
    root.mkdir(parents=True, exist_ok=True)
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    targets, variants, hostile = build(root, args.n, args.hostile_fraction,
                                       listener.getsockname()[1])
    data = write_tiny_cifar(root / "data")
    settings = {"assignment": "cnn", "workers": args.workers, "timeout": args.timeout,
                "memory_mb": args.memory, "heldout": 10}
    watched = [targets.submissions, targets.secret, targets.canary, targets.gradebook,
               *probe_paths(targets)]
    before = snapshot(watched)
    start = time.monotonic()
    result = grade_submissions(targets.submissions, targets.out, secret=targets.secret,
                               data=data, progress=True, **settings)
    batch_seconds = time.monotonic() - start
    changed = sorted(p for p, h in snapshot(watched).items() if before.get(p) != h)
    received = drain(listener)
    records = {r["student_id"]: r for r in result.records}
    start = time.monotonic()
    alone = grade_alone(root, targets, variants, data, settings)
    alone_seconds = time.monotonic() - start
    mismatched = sorted(sid for sid, name in variants.items()
                        if comparable(records[sid]) != comparable(alone[name]))
    best = {g["name"]: g["score"] for g in alone["correct"]["groups"]}
    over = sorted(sid for sid in hostile for g in records[sid]["groups"]
                  if g["score"] > best[g["name"]])
    report = {
        "submissions": args.n, "honest": len(variants), "hostile": len(hostile),
        "settings": settings, "batch_seconds": round(batch_seconds, 1),
        "submissions_per_minute": round(60 * args.n / batch_seconds, 1),
        "alone_seconds": round(alone_seconds, 1),
        "honest_identical_to_alone": len(variants) - len(mismatched),
        "honest_mismatched": mismatched,
        "hostile_scoring_above_correct_code": over,
        "hostile_totals": {sid: records[sid]["total"] for sid in sorted(hostile)},
        "files_changed_outside_sandboxes": changed,
        "connections_received": len(received),
        "students_by_status": result.summary.get("students_by_status"),
        "cases_by_status": result.summary.get("cases_by_status"),
        "isolation": result.summary.get("isolation"),
        "kept_in": str(root),
    }
    print(json.dumps(report, indent=1))
    ok = not mismatched and not changed and not received and set(over) <= {
        sid for sid, case in hostile.items() if case.sid == "consistent_fakes"}
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    assert set(GROUPS)  # the group names the checks above rely on
    sys.exit(main())
