"""One submission graded by the Gradescope zip under Gradescope-like limits.

Builds the autograder zip (or takes ``--zip``), extracts it to a fresh
``$AUTOGRADER_ROOT/source``, runs ``setup.sh`` (timed) with Python 3.10, then
grades one submission with ``run_autograder`` ``--runs`` times under one CPU
core (``taskset -c 0``) and a memory cgroup of ``--memory-mb`` (768 MB:
Gradescope's default container), then ``--runs`` times more with a CPU quota of
half that core (``--cpu-share``, Gradescope's default half vCPU, cgroup v1
``cpu.cfs_quota_us``), and prints the wall time of each run, the score, the
held-out accuracy and the peak memory of the whole container.

The submission is the solution build with an untrained checkpoint of the
homework's default ThreeLayerConvNet (32 7x7 filters, 100 hidden units), so the
accuracy test predicts 1000 held-out images through a network of the size
students hand in.

    python benchmarks/gradescope_limits.py --data ../shared/datasets/cifar-10-python.tar.xz

Needs root (the cgroup, the sandbox user), Linux with cgroup v1 or v2, and
``~/.pyenv/versions/3.10.13`` (or ``--python``).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")


def make_cgroup(name, limit_mb):
    """A memory cgroup limited to ``limit_mb``; ``(folder, peak file)``."""
    if (CGROUP_V1 / "memory.limit_in_bytes").exists():
        folder = CGROUP_V1 / name
        folder.mkdir(exist_ok=True)
        (folder / "memory.limit_in_bytes").write_text(str(limit_mb << 20))
        swap = folder / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(limit_mb << 20))
        return folder, folder / "memory.max_usage_in_bytes"
    folder = CGROUP_V2 / name
    folder.mkdir(exist_ok=True)
    (folder / "memory.max").write_text(str(limit_mb << 20))
    (folder / "memory.swap.max").write_text("0")
    return folder, folder / "memory.peak"


def make_cpu_cgroup(name, share):
    """A cgroup v1 CPU controller allowing ``share`` of one CPU, or None without one."""
    base = Path("/sys/fs/cgroup/cpu")
    if not (base / "cpu.cfs_quota_us").exists():
        return None
    folder = base / name
    folder.mkdir(exist_ok=True)
    period = int((folder / "cpu.cfs_period_us").read_text())
    (folder / "cpu.cfs_quota_us").write_text(str(int(period * share)))
    return folder


def make_cpuacct_cgroup(name):
    """A cgroup v1 CPU accounting group, or None without one."""
    base = Path("/sys/fs/cgroup/cpuacct")
    if not (base / "cpuacct.usage").exists():
        return None
    folder = base / name
    folder.mkdir(exist_ok=True)
    return folder


def grade_runs(root, core, runs, cgroups, account=None):
    """``(wall seconds, CPU seconds)`` of ``runs`` gradings, each placed in ``cgroups`` first.

    CPU seconds (from the ``account`` cgroup, every process of the grading) do not depend on
    how busy the machine is: at a quota of q cores the wall time is at least CPU / q.
    """
    enter = " && ".join(f"echo $$ > {c}/cgroup.procs" for c in [*cgroups, account] if c)
    wall, cpu = [], []
    for _ in range(runs):
        before = int((account / "cpuacct.usage").read_text()) if account else 0
        start = time.perf_counter()
        subprocess.run(["sh", "-c", f"{enter} && exec taskset -c {core} bash "
                        f"{root}/source/run_autograder"],
                       env={"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root)},
                       check=True)
        wall.append(round(time.perf_counter() - start, 1))
        if account:
            cpu.append(round((int((account / "cpuacct.usage").read_text()) - before) / 1e9, 1))
    return wall, cpu


def submission(folder):
    """The solution build with an untrained default-size ThreeLayerConvNet checkpoint."""
    from cnnkit.grader.release.build import build_package
    from cnnkit.grader.release.layout import source_dir
    from cnnkit.reference.checkpoint import save_checkpoint
    from cnnkit.reference.cnn import ThreeLayerConvNet
    build_package(source_dir(), folder, solutions=True)
    kwargs = {"num_filters": 32, "filter_size": 7, "hidden_dim": 100, "seed": 0}
    save_checkpoint(folder / "checkpoints" / "challenge", ThreeLayerConvNet(**kwargs),
                    {"module": "nndl.cnn", "class": "ThreeLayerConvNet", "kwargs": kwargs})
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="CIFAR-10 archive for the held-out images")
    parser.add_argument("--zip", help="an autograder zip already built (default: build one)")
    parser.add_argument("--python", default=os.path.expanduser(
        "~/.pyenv/versions/3.10.13/bin/python"), help="the image's Python 3.10")
    parser.add_argument("--memory-mb", type=int, default=768)
    parser.add_argument("--core", default="0", help="CPU for taskset -c (default: 0)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu-share", type=float, default=0.5,
                        help="CPU quota of the second series, in cores (default: 0.5)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    base = Path(tempfile.mkdtemp(prefix="cnnkit-gs-bench-", dir="/tmp"))
    base.chmod(0o755)
    try:
        zip_path = Path(args.zip) if args.zip else base / "autograder.zip"
        build_seconds = None
        if not args.zip:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "cnnkit.grader.cli", "gradescope", "--out",
                            str(zip_path), "--python", args.python]
                           + (["--data", args.data] if args.data else []), check=True)
            build_seconds = time.perf_counter() - start
        root = base / "autograder"
        (root / "source").mkdir(parents=True)
        root.chmod(0o755)
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(root / "source")
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CNNKIT_PYTHON": args.python}
        start = time.perf_counter()
        subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, check=True)
        setup_seconds = time.perf_counter() - start
        submission(root / "submission")

        name = f"cnnkit-gs-bench-{os.getpid()}"
        cgroup, peak_file = make_cgroup(name, args.memory_mb)
        cpu = make_cpu_cgroup(name, args.cpu_share)
        account = make_cpuacct_cgroup(name)
        try:
            runs, cpu_seconds = grade_runs(root, args.core, args.runs, [cgroup], account)
            half = grade_runs(root, args.core, args.runs, [cgroup, cpu])[0] if cpu else []
            peak_mb = int(peak_file.read_text()) / (1 << 20)
        finally:
            for folder in (cgroup, cpu, account):
                if folder:
                    os.rmdir(folder)
        results = json.loads((root / "results" / "results.json").read_text())
        figures = {
            "zip_build_seconds": round(build_seconds, 1) if build_seconds else None,
            "zip_mb": round(zip_path.stat().st_size / 1e6, 1),
            "setup_seconds": round(setup_seconds, 1),
            "grading_seconds_one_core": runs,
            "grading_seconds_one_core_median": statistics.median(runs),
            "grading_cpu_seconds": cpu_seconds,
            f"grading_seconds_{args.cpu_share:g}_core": half,
            f"grading_seconds_{args.cpu_share:g}_core_median":
                statistics.median(half) if half else None,
            "peak_memory_mb": round(peak_mb), "memory_limit_mb": args.memory_mb,
            "cpu": f"taskset -c {args.core}", "score": results["score"],
            "leaderboard": results.get("leaderboard"),
            "isolation": results["extra_data"].get("isolation"),
            "status": results["extra_data"].get("status"),
            "load_average_before": load_before, "load_average_after": os.getloadavg()}
        print(json.dumps(figures, indent=2))
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
