"""Issue 15: the same batch on a Dask cluster of real processes on loopback.

Grades from the cluster equal grades from the local pool (demo batch, 50 generated
submissions); a worker killed mid-batch loses no student; hostile students neither take
a worker down nor change another's grade; a worker with another cnnkit or secret is
refused. Each batch is graded once per module (the local-pool grades are the yardstick).
"""
import json
import shutil
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from cnnkit.grader.api import grade_submissions
from cnnkit.grader.cluster import client as cluster_client
from cnnkit.grader.cluster.worker import installed_version
from cnnkit.grader.demo import generate_batch, generate_demo
from cnnkit.grader.errors import ClusterError
from dask_processes import DaskProcesses
from grader_helpers import comparable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
from hostile_cases import BY_SID  # noqa: E402

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

SETTINGS = {"timeout": 5, "heldout": 20, "memory_mb": 1024}
#: students graded while one of two workers is killed
KILL_BATCH = 20
HOSTILE = ("os_exit", "memory_bomb", "kills_parent")
#: as the hostile suite grades them: a memory bomb meets its limit well before its time is up
HOSTILE_SETTINGS = {**SETTINGS, "timeout": 10, "memory_mb": 768}


def grades(result):
    return {r["student_id"]: comparable(r) for r in result.records}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="module")
def dask_cluster(folder, secret_file):
    """A ``dask scheduler`` and two single-threaded ``dask worker`` processes."""
    with DaskProcesses(folder) as procs:
        procs.start_scheduler()
        for name in ("w1", "w2"):
            procs.start_worker(name, {"CNNKIT_SECRET": str(secret_file)})
        yield procs


@pytest.fixture(scope="module")
def demo_batch(folder, secret_file, fake_data):
    """The demo students, and their grades from the local pool."""
    subs = folder / "demo"
    generate_demo(subs)
    local = grade_submissions(subs, folder / "demo_local", workers=2, secret=secret_file,
                              data=fake_data, **SETTINGS)
    return subs, grades(local)


@pytest.fixture(scope="module")
def batch50(folder, secret_file, fake_data):
    """50 generated students, and their grades from the local pool."""
    subs = folder / "batch50"
    generate_batch(subs, 50)
    local = grade_submissions(subs, folder / "batch50_local", workers=2, secret=secret_file,
                              data=fake_data, **SETTINGS)
    return subs, grades(local)


def test_demo_batch_on_dask_processes_equals_the_local_pool(demo_batch, dask_cluster, folder,
                                                            secret_file, fake_data, monkeypatch):
    subs, local = demo_batch
    monkeypatch.setattr(cluster_client, "USE_SHARED_FILES", False)  # as across machines
    result = grade_submissions(subs, folder / "demo_cluster", scheduler=dask_cluster.address,
                               secret=secret_file, data=fake_data, **SETTINGS)
    assert grades(result) == local
    summary = json.loads((folder / "demo_cluster" / "summary.json").read_text())
    cluster = summary["cluster"]
    assert cluster["scheduler"] == dask_cluster.address
    assert cluster["data"] == "folders sent as bytes"
    assert len(cluster["workers"]) == 2
    assert sum(w["students"] for w in cluster["workers"].values()) == 3
    for worker in cluster["workers"].values():
        assert worker["isolation"].startswith("bwrap:")
    assert cluster["client_seconds_per_student"] > 0
    assert summary["students_by_status"] == {"graded": 3}


def test_50_generated_on_a_local_cluster_equal_the_local_pool(batch50, folder, secret_file,
                                                              fake_data):
    subs, local = batch50
    out = folder / "batch50_cluster"
    result = grade_submissions(subs, out, cluster="local:2", secret=secret_file, data=fake_data,
                               **SETTINGS)
    assert len(local) == 50 and grades(result) == local
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cluster"]["data"] == "shared filesystem"
    assert summary["timing"]["workers"] == 2
    # resuming from OUT: nothing changed, nothing sent to the cluster again
    again = grade_submissions(subs, out, cluster="local:1", secret=secret_file, data=fake_data,
                              **SETTINGS)
    assert again.graded == [] and len(again.skipped) == 50 and grades(again) == local


def test_killing_a_worker_mid_batch_loses_no_student(batch50, folder, secret_file, fake_data):
    subs = folder / "batch20"
    for student in sorted(batch50[0].iterdir())[:KILL_BATCH]:
        shutil.copytree(student, subs / student.name)
    local = {sid: grade for sid, grade in batch50[1].items() if (subs / sid).is_dir()}
    out = folder / "batch20_killed"
    (folder / "killed").mkdir()
    with DaskProcesses(folder / "killed") as procs:
        procs.start_scheduler()
        for name in ("k1", "k2"):
            procs.start_worker(name, {"CNNKIT_SECRET": str(secret_file)})
        done = {}
        thread = threading.Thread(target=lambda: done.setdefault("result", grade_submissions(
            subs, out, scheduler=procs.address, secret=secret_file, data=fake_data,
            **SETTINGS)))
        thread.start()
        deadline = time.monotonic() + 300
        while len(list(out.glob("*/grade.json"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 4 <= len(list(out.glob("*/grade.json"))) < KILL_BATCH, "kill before the end"
        procs.kill_worker("k1")
        thread.join(600)
    result = done["result"]
    assert len(local) == KILL_BATCH and grades(result) == local
    counts = result.summary["cluster"]["workers"]
    assert sum(w["students"] for w in counts.values()) == KILL_BATCH
    assert not procs.alive("k1")


def test_hostile_students_leave_workers_and_others_intact(folder, dask_cluster, demo_batch,
                                                          secret_file, fake_data):
    from distributed import Client
    subs = folder / "hostile"
    shutil.copytree(demo_batch[0] / "demo_correct", subs / "correct")
    shutil.copytree(demo_batch[0] / "demo_mistakes", subs / "mistakes")
    for sid in HOSTILE:
        shutil.copytree(subs / "correct", subs / sid)
        BY_SID[sid].apply(subs / sid, SimpleNamespace(as_text=lambda: None))
    with Client(dask_cluster.address) as client:
        before = set(client.scheduler_info()["workers"])
    result = grade_submissions(subs, folder / "hostile_out", scheduler=dask_cluster.address,
                               secret=secret_file, data=fake_data, **HOSTILE_SETTINGS)
    with Client(dask_cluster.address) as client:
        assert set(client.scheduler_info()["workers"]) == before  # nobody died or restarted
    assert dask_cluster.alive("w1") and dask_cluster.alive("w2")
    got = grades(result)
    assert got["correct"] == demo_batch[1]["demo_correct"]
    assert got["mistakes"] == demo_batch[1]["demo_mistakes"]
    records = {r["student_id"]: r for r in result.records}
    for sid in HOSTILE:
        assert records[sid]["status"] == "graded"
        BY_SID[sid].check(records[sid], None)
    local = grade_submissions(subs, folder / "hostile_local", workers=2, secret=secret_file,
                              data=fake_data, **HOSTILE_SETTINGS)
    assert grades(local) == got


def test_workers_with_another_cnnkit_or_secret_are_refused(folder, secret_file, fake_data,
                                                           demo_batch, tmp_path):
    other_secret = tmp_path / "other.secret"
    other_secret.write_text("another-course-secret-0123456789abcdef\n")
    old = tmp_path / "old-cnnkit"
    (old / "cnnkit-0.0.9.dist-info").mkdir(parents=True)
    (old / "cnnkit-0.0.9.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cnnkit\nVersion: 0.0.9\n")
    with DaskProcesses(tmp_path) as procs:
        procs.start_scheduler()
        procs.start_worker("good", {"CNNKIT_SECRET": str(secret_file)})
        procs.start_worker("other-secret", {"CNNKIT_SECRET": str(other_secret)})
        procs.start_worker("old-version", {"CNNKIT_SECRET": str(secret_file),
                                           "PYTHONPATH": str(old)})
        with pytest.raises(ClusterError, match="workers refused, nobody graded") as caught:
            grade_submissions(demo_batch[0], tmp_path / "out", scheduler=procs.address,
                              secret=secret_file, data=fake_data, **SETTINGS)
    message = str(caught.value)
    lines = {line.split()[1]: line for line in message.splitlines()[1:]}
    assert set(lines) == {"other-secret", "old-version"}, message
    assert "course secret fingerprint 'sha256:" in lines["other-secret"], message
    assert "cnnkit version" not in lines["other-secret"], message
    assert (f"cnnkit version '0.0.9', the client has '{installed_version()}'"
            in lines["old-version"]), message
    assert "course secret" not in lines["old-version"], message
    assert not list((tmp_path / "out").glob("*/grade.json"))
