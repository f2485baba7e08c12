"""The client side of cluster grading: connect, check every worker, send the students.

:class:`ClusterSession` is used by :func:`cnnkit.grader.api.grade_submissions`
when ``scheduler`` or ``cluster`` is given. It keeps every decision and every
write in this process: which students to grade (the API's resume logic), each
student's files (written here as each record arrives), the summary. Workers run
:func:`cnnkit.grader.cluster.worker.grade_task` and send back JSON text.

Failures: Dask reruns the tasks of a lost worker elsewhere (retries are for the
infrastructure only; a student's timeout or crash is already part of the
record). A task that kept killing its workers (Dask's ``allowed-failures``)
becomes a ``grader_error`` record (no score), retried by the next run; a worker that
differs from the client stops the batch with a :class:`ClusterError`.
"""
import json
import re
import time
import uuid
from dataclasses import replace

from ..errors import ClusterError, GraderUsageError
from ..pipeline import grader_error
from ..report import step as report
from ..testbank import cache
from .transport import FolderTooLarge, pack_folder
from .worker import WorkerBatch, WorkerRefused, describe_worker, differences

LOCAL = re.compile(r"^local:(\d+)$")
MAX_LOCAL_WORKERS = 64
#: a task whose worker died this many times is given up (the scheduler's allowed-failures)
ALLOWED_FAILURES = 2
CONNECT_SECONDS = 30
#: read the students' folders in place when every worker sees them at the client's paths
USE_SHARED_FILES = True
#: tasks in flight per worker thread: enough to keep each busy, few bytes held at once
IN_FLIGHT_PER_THREAD = 2


def check_cluster_options(scheduler, cluster):
    """Validate ``scheduler`` / ``cluster``; returns the number of local workers or None."""
    if scheduler is not None and cluster is not None:
        raise GraderUsageError("give either --scheduler or --cluster, not both")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise GraderUsageError(f"--scheduler must be an address such as tcp://10.0.0.5:8786, "
                               f"got {scheduler!r}")
    if scheduler is not None or cluster is not None:
        _distributed()  # say what to install before any work is done
    if cluster is None:
        return None
    found = LOCAL.match(cluster) if isinstance(cluster, str) else None
    if not found or not 1 <= int(found.group(1)) <= MAX_LOCAL_WORKERS:
        raise GraderUsageError(f"--cluster must be local:N with N from 1 to "
                               f"{MAX_LOCAL_WORKERS} worker processes, got {cluster!r}")
    return int(found.group(1))


def _distributed():
    try:
        import distributed
    except ImportError as err:
        raise ClusterError("--scheduler and --cluster need Dask's distributed package: "
                           "pip install 'cnnkit[cluster]'") from err
    return distributed


class ClusterSession:
    """A connection to a Dask cluster checked fit for one batch (see module docstring)."""

    def __init__(self, ctx, scheduler=None, local_workers=None, probe=None):
        """Connect (or start a LocalCluster of ``local_workers`` processes) and check every
        worker; ``probe`` is one collected submission, to see whether workers share the
        client's files."""
        distributed = _distributed()
        started = time.perf_counter()
        self.ctx, self.cluster = ctx, None
        try:
            with _dask_config(distributed):
                if local_workers:
                    self.cluster = distributed.LocalCluster(
                        n_workers=local_workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", env={"CNNKIT_SECRET": ctx.secret.path})
                    scheduler = self.cluster
                self.client = distributed.Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as err:
            self._close_cluster()
            raise ClusterError(f"cannot reach the Dask scheduler {scheduler} ({err})") from err
        self.address = self.client.scheduler.address
        try:
            try:
                self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError as err:
                raise ClusterError(f"no worker joined the Dask scheduler {self.address} "
                                   f"within {CONNECT_SECONDS} s") from err
            self.facts = self._check_workers(probe)
        except BaseException:
            self.close()
            raise
        self.shared = USE_SHARED_FILES and bool(self.facts) and all(
            f["shared_folder"] for f in self.facts.values())
        self.per_worker, self.client_seconds = {}, 0.0
        self.start_seconds = time.perf_counter() - started

    def _check_workers(self, probe):
        """Every worker's facts; raises ClusterError naming each worker that differs."""
        ctx = self.ctx
        self.mine = {**describe_worker(ctx.secret.path, ctx.limits),
                     "secret": ctx.secret.fingerprint, "secret_problem": ""}
        if not self.mine["sandbox"]["ok"]:
            raise ClusterError(f"the client's own sandbox cannot run a program "
                               f"({self.mine['sandbox']['reason']})")
        args = (str(probe.folder), probe.fingerprint) if probe is not None else (None, "")
        facts = self.client.run(describe_worker, ctx.secret.path, ctx.limits, *args,
                                on_error="return")
        names = {a: w.get("name", a) for a, w in self.client.scheduler_info()["workers"].items()}
        refused = []
        for address, f in sorted(facts.items()):
            problems = ([f"cnnkit's check failed there ({type(f).__name__}: {f})"]
                        if isinstance(f, BaseException) else differences(self.mine, f))
            if problems:
                host = "" if isinstance(f, BaseException) else f" on {f['host']}"
                refused.append(f"worker {names.get(address, address)} ({address}{host}): "
                               + "; ".join(problems))
        if refused:
            raise ClusterError("workers refused, nobody graded (install the client's cnnkit "
                               "and course secret on them):\n  " + "\n  ".join(refused))
        return facts

    def _batch(self):
        """The batch's shared data, scattered once to every worker."""
        ctx = self.ctx
        held = ctx.heldout
        images = b""
        if held is not None:
            with open(held.images_path, "rb") as handle:
                images = handle.read()
        shipped = replace(ctx, out=None, secret=replace(ctx.secret, key=b""),
                          heldout=replace(held, images_path="") if held else None)
        batch = WorkerBatch(uuid.uuid4().hex, shipped, self.mine, images,
                            cache.export_expected(ctx))
        return self.client.scatter(batch, broadcast=True, hash=False)

    def _submit(self, batch, sub):
        from .worker import grade_task
        started = time.perf_counter()
        if self.shared:
            args = {"folder": str(sub.folder)}
        else:
            args = {"archive": pack_folder(sub.folder)}
        future = self.client.submit(grade_task, batch, sub.student_id, sub.fingerprint,
                                    key=f"cnnkit-grade-{sub.student_id}-{uuid.uuid4().hex[:8]}",
                                    retries=0, **args)
        self.client_seconds += time.perf_counter() - started
        return future

    def grade(self, todo):
        """Yield each student's record as it arrives, after writing its files."""
        distributed = _distributed()
        pending = list(todo)
        batch = self._batch()
        running = distributed.as_completed()
        owner = {}
        while pending or running.count():
            room = IN_FLIGHT_PER_THREAD * max(1, sum(self.client.nthreads().values()))
            while pending and running.count() < room:
                sub = pending.pop(0)
                try:
                    future = self._submit(batch, sub)
                except (FolderTooLarge, OSError) as err:
                    sub.problem = f"cannot send this folder to the cluster: {err}"
                    yield self._write(report.ungradable_record(self.ctx, sub,
                                                               self.ctx.grader_key))
                    continue
                owner[future.key] = sub
                running.add(future)
            if not running.count():
                continue
            future = next(running)
            yield self._write(self._record(future, owner.pop(future.key)))

    def _record(self, future, sub):
        """The record a finished task sent back, or why the cluster failed this student."""
        distributed = _distributed()
        try:
            answer = json.loads(future.result())
        except WorkerRefused as err:
            raise ClusterError(f"a worker that joined during the batch was refused: {err}") \
                from None
        except distributed.KilledWorker as err:
            return grader_error(self.ctx, sub, (
                f"every worker grading this student died ({ALLOWED_FAILURES + 1} times: {err}); "
                "the next run grades them again"))
        except (OSError, distributed.client.FutureCancelledError) as err:
            raise ClusterError(f"lost the Dask scheduler {self.address} mid-batch "
                               f"({type(err).__name__}: {err}); run again to resume") from err
        finally:
            future.release()
        count = self.per_worker.setdefault(answer["worker"], {"students": 0, "seconds": 0.0})
        count["students"] += 1
        count["seconds"] += answer["seconds"]
        return answer["record"]

    def _write(self, record):
        started = time.perf_counter()
        report.write_student(self.ctx.out, record)
        self.client_seconds += time.perf_counter() - started
        return record

    def summary(self, graded):
        """The cluster part of ``summary.json``: the workers, their isolation and counts."""
        workers = {}
        for address, facts in sorted(self.facts.items()):
            workers[address] = {"host": facts["host"], "cnnkit": facts["cnnkit"],
                                "isolation": facts["sandbox"]["isolation"],
                                "students": 0, "seconds": 0.0}
        for address, count in self.per_worker.items():
            entry = workers.setdefault(address, {"host": "", "isolation": "joined later"})
            entry["students"] = count["students"]
            entry["seconds"] = round(count["seconds"], 2)
        return {"scheduler": self.address if self.cluster is None else
                f"LocalCluster of {len(self.facts)} worker processes",
                "data": "shared filesystem" if self.shared else "folders sent as bytes",
                "workers": workers, "start_seconds": round(self.start_seconds, 2),
                "client_seconds_per_student": round(self.client_seconds / graded, 4)
                if graded else None}

    def _close_cluster(self):
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def close(self):
        self.client.close()
        self._close_cluster()

    def __repr__(self):
        return f"ClusterSession(scheduler={self.address!r}, workers={len(self.facts)})"


def _dask_config(distributed):
    """The scheduler settings a LocalCluster started here gets (see ALLOWED_FAILURES)."""
    import dask
    return dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES})
