"""What runs on a Dask worker: the facts checked before a batch, and one student's task.

Everything here is cnnkit's own code from the worker's own installation; the
client sends data only. A task gets a student's folder as tar bytes (or, on a
shared filesystem, its path) and returns the student's record as JSON text, so
the client never unpickles anything a student's code could have shaped.

The batch's shared data (:class:`WorkerBatch`: the settings, the held-out
images, the expected values) reaches each worker once; the course secret never
travels: every worker reads its own and must have the client's fingerprint.
"""
import atexit
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..collect.step import fingerprint_folder
from ..context import HeldOut, Submission
from ..errors import GraderUsageError
from ..pipeline import evaluate, grader_error
from ..run.step import run_limits
from ..sandbox.selftest import sandbox_self_test
from ..testbank import cache
from ..testbank.secret import default_secret_path, load_secret
from .transport import unpack_folder


class WorkerRefused(RuntimeError):
    """This worker differs from the client (cnnkit, secret or sandbox); the message says how."""


@dataclass(frozen=True)
class WorkerBatch:
    """What every task of a batch shares; scattered to each worker once.

    ctx : the batch's GradingContext without the secret's key, with no ``out``
        (workers write nothing) and the held-out images' path left to the worker.
    client : the client's :func:`describe_worker` facts every worker must match.
    heldout_images : the bytes of the held-out images file (``.npy``), or b"".
    expected : :func:`cnnkit.grader.testbank.cache.export_expected` of the batch.
    """
    batch_id: str
    ctx: object
    client: dict
    heldout_images: bytes
    expected: dict


def installed_version():
    """The version of the cnnkit distribution this process imports."""
    try:
        return metadata.version("cnnkit")
    except metadata.PackageNotFoundError:
        return "not installed"


@lru_cache(maxsize=1)
def code_digest():
    """sha256 of the grader's and the reference's Python files: same version, same code."""
    h = hashlib.sha256()
    for part in ("grader", "reference"):
        root = Path(importlib.util.find_spec(f"cnnkit.{part}").submodule_search_locations[0])
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                h.update(f"{part}/{path.relative_to(root).as_posix()}\0".encode())
                h.update(path.read_bytes())
    return "sha256:" + h.hexdigest()[:16]


def secret_path(client_path):
    """Which course secret this worker reads: ``$CNNKIT_SECRET``, else the client's path
    when this machine sees it (a shared filesystem), else the default place."""
    if os.environ.get("CNNKIT_SECRET"):
        return Path(os.environ["CNNKIT_SECRET"]).expanduser()
    if client_path and Path(client_path).is_file():
        return Path(client_path)
    return default_secret_path()


def worker_secret(client_path):
    """``(Secret, '')`` or ``(None, why not)``; never creates a secret on a worker."""
    path = secret_path(client_path)
    try:
        return load_secret(path, create=False), ""
    except GraderUsageError as err:
        return None, f"no usable course secret ({err})"


def sandbox_check(limits):
    """``{"ok", "isolation", "reason"}``: the sandbox start-up self-test of this machine,
    under the limits of one student's run (the one per-worker sandbox check)."""
    result = sandbox_self_test(run_limits(limits, 1))
    return {"ok": result.ok, "isolation": result.isolation,
            "reason": "" if result.ok else result.message()}


def describe_worker(client_secret_path, limits, probe_folder=None, probe_fingerprint=""):
    """The facts a client compares with its own before grading (plain data)."""
    secret, problem = worker_secret(client_secret_path)
    facts = {"cnnkit": installed_version(), "code": code_digest(),
             "python": platform.python_version(), "host": platform.node(),
             "secret": secret.fingerprint if secret else "", "secret_problem": problem,
             "sandbox": sandbox_check(limits)}
    facts["shared_folder"] = bool(probe_folder and Path(probe_folder).is_dir()
                                  and fingerprint_folder(probe_folder) == probe_fingerprint)
    return facts


#: (fact, what it is called in a message); the facts a worker must share with its client
MUST_MATCH = (("cnnkit", "cnnkit version"), ("code", "cnnkit code"),
              ("secret", "course secret fingerprint"))


def differences(client, worker):
    """What makes ``worker`` unfit for the client's batch (a list of sentences)."""
    found = [worker.get(f"{key}_problem") or
             f"{label} {worker[key]!r}, the client has {client[key]!r}"
             for key, label in MUST_MATCH if worker[key] != client[key]]
    sandbox = worker["sandbox"]
    if not sandbox["ok"]:
        found.append(f"its sandbox cannot run a program ({sandbox['reason']})")
    elif sandbox["isolation"] != client["sandbox"]["isolation"]:
        found.append(f"sandbox isolation {sandbox['isolation']!r}, the client has "
                     f"{client['sandbox']['isolation']!r}")
    return found


# ------------------------------------------------------------------- the task

_LOCK = threading.Lock()
_BATCH = {}   # batch_id -> (ctx, scratch folder): this process's current batch


def batch_context(batch):
    """This worker's GradingContext for ``batch``, set up on its first task.

    Checks the worker against the client again (a worker that joined after the
    start was never asked), reads its own secret, installs the expected values
    and writes the held-out images to a private folder.
    """
    with _LOCK:
        if batch.batch_id in _BATCH:
            return _BATCH[batch.batch_id][0]
        ctx = batch.ctx
        facts = describe_worker(ctx.secret.path, ctx.limits)
        problems = differences(batch.client, facts)
        if problems:
            raise WorkerRefused(f"worker {worker_name()} on {facts['host']}: "
                                + "; ".join(problems))
        secret, _ = worker_secret(ctx.secret.path)
        for _, (_, old_scratch) in list(_BATCH.items()):
            shutil.rmtree(old_scratch, ignore_errors=True)
        _BATCH.clear()
        scratch = tempfile.mkdtemp(prefix="cnnkit-batch-")
        atexit.register(shutil.rmtree, scratch, True)
        heldout = ctx.heldout
        if heldout is not None:
            images = Path(scratch) / "heldout.npy"
            images.write_bytes(batch.heldout_images)
            heldout = replace(heldout, images_path=str(images))
        ctx = replace(ctx, secret=secret, heldout=heldout)
        cache.import_expected(ctx, batch.expected)
        _BATCH[batch.batch_id] = (ctx, scratch)
        return ctx


def worker_name():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return f"{platform.node()}:{os.getpid()}"


def grade_task(batch, student_id, fingerprint, archive=None, folder=None):
    """Grade one student on this worker; returns JSON text ``{"record", "worker", "seconds"}``.

    ``archive`` is the student's folder packed by the client; ``folder`` its path when
    every worker sees the client's files (checked here against ``fingerprint``).
    """
    start = time.perf_counter()
    ctx = batch_context(batch)
    with tempfile.TemporaryDirectory(prefix="cnnkit-student-") as tmp:
        submission = Submission(student_id, None, fingerprint)
        try:
            if archive is not None:
                submission.folder = Path(tmp) / "submission"
                submission.folder.mkdir()
                unpack_folder(archive, submission.folder)
            else:
                submission.folder = Path(folder)
                if fingerprint_folder(folder) != fingerprint:
                    raise ValueError(f"{folder} changed since it was collected, or this "
                                     "worker sees other files at that path")
        except (OSError, ValueError) as err:
            record = grader_error(ctx, submission, f"the worker could not read this submission "
                                                   f"({type(err).__name__}: {err})")
        else:
            record = evaluate(ctx, submission)
    return json.dumps({"record": record, "worker": worker_name(),
                       "seconds": round(time.perf_counter() - start, 3)})
