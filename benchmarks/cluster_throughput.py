"""Submissions per minute on a Dask cluster beside the local pool, on this machine.

One generated batch (:func:`cnnkit.grader.demo.generate_batch`) is graded, one run
after the other into fresh report folders, by the local pool with 1 and 2
processes and by a Dask ``LocalCluster`` of 1 and 2 single-threaded worker
processes (folders sent as bytes, as across machines). For each run: submissions
per minute over the whole run, and at steady state (without the cluster's
start-up and worker checks); the scaling ratio 2 workers / 1 worker; the client's
own time per student (packing a folder, writing its reports) and CPU per student
(for a LocalCluster this includes its scheduler, which runs in the client); and
the workers needed to grade 5,000 submissions in 10 minutes at the measured
per-worker rate. Grades must be identical in every run.

    python benchmarks/cluster_throughput.py --data PATH [--n 50] [--json OUT]
"""
import argparse
import json
import math
import resource
import tempfile
import time
from pathlib import Path

from cnnkit.grader.api import grade_submissions
from cnnkit.grader.cluster import client as cluster_client
from cnnkit.grader.demo import generate_batch

RUNS = (("local pool, 1 process", {"workers": 1}),
        ("local pool, 2 processes", {"workers": 2}),
        ("Dask LocalCluster, 1 worker", {"cluster": "local:1"}),
        ("Dask LocalCluster, 2 workers", {"cluster": "local:2"}))
TARGET = (5000, 10)   # submissions, minutes


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def grades(result):
    return {r["student_id"]: (r["total"], [g["score"] for g in r["groups"]])
            for r in result.records}


def run(subs, out, settings, options):
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = grade_submissions(subs, out, **settings, **options)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    timing, cluster = result.summary["timing"], result.summary.get("cluster")
    n = len(result.graded)
    figures = {"students": n, "grading_seconds": timing["grading_seconds"],
               "per_minute": timing["submissions_per_minute"],
               "client_cpu_per_student": round(cpu / n, 4)}
    if cluster:
        steady = timing["grading_seconds"] - cluster["start_seconds"]
        figures.update(start_seconds=cluster["start_seconds"],
                       steady_per_minute=round(60 * n / steady, 1),
                       client_seconds_per_student=cluster["client_seconds_per_student"],
                       per_worker={w: c["students"] for w, c in cluster["workers"].items()})
    return figures, grades(result)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CIFAR-10 archive or folder")
    parser.add_argument("--n", type=int, default=50, help="submissions in the batch")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    cluster_client.USE_SHARED_FILES = False  # measure what crossing machines costs
    settings = {"data": args.data, "timeout": args.timeout}
    report = {"n": args.n, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="cnnkit-bench-") as tmp:
        subs = Path(tmp) / "submissions"
        generate_batch(subs, args.n)
        first = None
        for i, (name, options) in enumerate(RUNS):
            figures, got = run(subs, Path(tmp) / f"out{i}", settings, options)
            first = first or got
            figures["same_grades_as_first_run"] = got == first
            report["runs"][name] = figures
            print(f"{name:30s} {json.dumps(figures)}", flush=True)
    one, two = (report["runs"][f"Dask LocalCluster, {k}"] for k in ("1 worker", "2 workers"))
    per_worker = one["steady_per_minute"]
    needed = TARGET[0] / TARGET[1]
    report["scaling_2_over_1"] = round(two["steady_per_minute"] / per_worker, 2)
    report["pool_scaling_2_over_1"] = round(
        report["runs"]["local pool, 2 processes"]["per_minute"]
        / report["runs"]["local pool, 1 process"]["per_minute"], 2)
    report["capacity"] = {
        "target": f"{TARGET[0]} submissions in {TARGET[1]} minutes ({needed:g} a minute)",
        "per_worker_per_minute": per_worker,
        "workers_needed": math.ceil(needed / per_worker)}
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
