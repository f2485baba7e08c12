"""Real Dask processes on loopback for the cluster tests: ``dask scheduler`` and ``dask worker``.

Each process runs in its own session, so killing a worker kills its nanny and the
worker process together, as losing a machine would.
"""
import json
import os
import signal
import subprocess
import sys
import time

#: how long a process may take to start on a busy 2-core machine
START_SECONDS = 120


class DaskProcesses:
    """A scheduler and workers started as subprocesses; use as a context manager."""

    def __init__(self, folder):
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.scheduler = None
        self.workers = {}   # name -> Popen

    def _spawn(self, args, log, env=None):
        return subprocess.Popen([sys.executable, "-m", "dask", *args],
                                stdout=open(self.folder / log, "w"), stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, start_new_session=True,
                                cwd=self.folder)

    def start_scheduler(self, env=None):
        self.scheduler = self._spawn(["scheduler", "--scheduler-file", str(self.file),
                                      "--no-dashboard", "--host", "127.0.0.1", "--port", "0"],
                                     "scheduler.log", {
                                         "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2",
                                         **(env or {})})
        deadline = time.monotonic() + START_SECONDS
        while not self.file.exists() and time.monotonic() < deadline:
            assert self.scheduler.poll() is None, (self.folder / "scheduler.log").read_text()
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        return self.address

    def start_worker(self, name, env=None):
        """Start a single-threaded worker; returns once it has joined the scheduler."""
        from distributed import Client
        self.workers[name] = self._spawn(
            ["worker", "--scheduler-file", str(self.file), "--nthreads", "1", "--name", name,
             "--no-dashboard", "--host", "127.0.0.1"], f"worker-{name}.log", env)
        with Client(self.address, timeout=START_SECONDS) as client:
            deadline = time.monotonic() + START_SECONDS
            while name not in self.names(client):
                assert self.workers[name].poll() is None, self.log(name)
                assert time.monotonic() < deadline, self.log(name)
                time.sleep(0.2)

    @staticmethod
    def names(client):
        return {w["name"] for w in client.scheduler_info()["workers"].values()}

    def log(self, name):
        return (self.folder / f"worker-{name}.log").read_text()[-3000:]

    def kill_worker(self, name):
        """SIGKILL the worker's whole session (nanny and worker process)."""
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()

    def alive(self, name):
        return self.workers[name].poll() is None

    def close(self):
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
