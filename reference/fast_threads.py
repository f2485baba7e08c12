"""Sharing a fast layer's chunks of images (or channels) among worker threads.

When threadpoolctl is installed and BLAS has several threads, the chunks are
shared among that many Python threads, each with a single-threaded BLAS, so
the copies run in parallel too; otherwise one thread walks the chunks and BLAS
parallelises each product. Workers take the next chunk when they finish one,
and per-chunk terms (dw, db) are summed by the caller in chunk order, so the
results never depend on which worker took which chunk.
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor


#: bytes of im2col columns handled at once (about an L2 cache's worth)
CHUNK_BYTES = 1 << 20
_POOL_LOCK = threading.Lock()
_POOL = {}


def blas_controller():
    """``(controller, threads)`` for numpy's BLAS now, or ``(None, 1)`` without threadpoolctl."""
    if "controller" not in _POOL:
        try:
            from threadpoolctl import ThreadpoolController
            _POOL["controller"] = ThreadpoolController().select(user_api="blas")
        except Exception:       # noqa: BLE001 - optional: any failure means "serial"
            _POOL["controller"] = None
    controller = _POOL["controller"]
    if controller is None:
        return None, 1
    try:
        threads = max([info["num_threads"] for info in controller.info()] or [1])
    except Exception:           # noqa: BLE001
        return None, 1
    return controller, min(threads, os.cpu_count() or 1)


class _Chunks:
    """The chunks ``(index, start, stop)`` of items ``0..N``, handed out one at a time.

    Workers take the next chunk when they finish one, so a core that runs
    slower (a busy neighbour on a shared machine) simply takes fewer chunks;
    splitting the items in fixed halves would make every call wait for it.
    """

    def __init__(self, N, step):
        self._bounds = iter([(i, start, min(N, start + step))
                             for i, start in enumerate(range(0, N, step))])
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._bounds)


def n_chunks(N, step):
    return -(-N // step)


def map_workers(work, N, step):
    """Share the chunks of items ``0..N`` among workers, each running ``work(chunks)``.

    ``work`` iterates over ``chunks``, a shared :class:`_Chunks`, and must write
    only the items (images, or channels) of the chunks it takes, and any
    per-chunk results at the chunk's index, so that results do not depend on
    which worker took which chunk. With several workers, BLAS is limited to one
    thread while they run. If another thread is already using the workers, or
    no thread can be started (a sandbox's process limit), this call runs
    serially.
    """
    controller, blas_threads = blas_controller()
    workers = min(os.cpu_count() or 1, n_chunks(N, step))
    chunks = _Chunks(N, step)
    if workers > 1 and controller is not None and _POOL_LOCK.acquire(blocking=False):
        try:
            if _POOL.get("pid") != os.getpid():     # none yet, or inherited by fork
                _POOL["executor"] = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                                       thread_name_prefix="cnnkit-conv")
                _POOL["pid"] = os.getpid()
            futures = []
            # Switching BLAS threads costs milliseconds and slows the next BLAS
            # calls, so a caller that already pinned BLAS to one thread (as
            # `cnnkit train` does) skips the switch.
            with controller.limit(limits=1) if blas_threads > 1 else contextlib.nullcontext():
                try:
                    for _ in range(workers):
                        futures.append(_POOL["executor"].submit(work, chunks))
                except RuntimeError:            # "can't start new thread": this thread helps
                    work(chunks)
                for future in futures:
                    future.result()             # waits, and raises what the worker raised
                return
        finally:
            _POOL_LOCK.release()
    work(chunks)


def image_chunk(n_items, bytes_per_item):
    """How many images to process at once so that a chunk is about CHUNK_BYTES."""
    return int(max(1, min(n_items, CHUNK_BYTES // max(1, bytes_per_item))))


def channel_chunk(n_channels):
    """Channels per chunk: about 4 chunks per worker, for balance at little overhead."""
    return max(1, n_channels // (4 * (os.cpu_count() or 1)))
