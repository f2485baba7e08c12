"""Benchmark of the fast reference layers against PyTorch's CPU kernels (issue 7).

:func:`run_benchmark` times, in one process and on the same float32 inputs,
each layer's forward + backward pass in cnnkit and in PyTorch (autograd), with
PyTorch set to the number of threads numpy's BLAS uses. cnnkit and PyTorch
runs alternate (in flipping order), so a slow spell of the machine hits both;
each figure is the median of ``repeats`` runs. It also times the naive loop layers on a small
batch (the speed-up shown in the notebook) and reports the achieved GFLOP/s of
each convolution beside a plain float32 matrix product of comparable size.
Those GFLOP/s count a direct convolution's multiply-adds whatever the
algorithm, so a Winograd convolution (4x fewer multiplications) can pass the
matrix product's figure; each row names the algorithm used.

The result is plain data (a dict, see :func:`run_benchmark`);
:mod:`.report` renders it. PyTorch is optional: without it only cnnkit is
timed and the result says so.
"""
import datetime
import os
import platform
import time

import numpy as np

from .. import conv_layers, fast_layers, fast_threads

TORCH_INSTALL_HINT = "pip install torch==2.13.0"

#: (name, x shape, w shape, pad) of the convolutions timed; stride 1.
CONV_CASES = [
    ("conv 3->32 3x3 on 100x3x32x32", (100, 3, 32, 32), (32, 3, 3, 3), 1),
    ("conv 32->64 3x3 on 100x32x16x16", (100, 32, 16, 16), (64, 32, 3, 3), 1),
    ("conv 3->64 7x7 on 50x3x32x32", (50, 3, 32, 32), (64, 3, 7, 7), 3),
]
#: (name, x shape, pool size = stride)
POOL_CASES = [("max pool 2x2/2 on 100x32x32x32", (100, 32, 32, 32), 2)]
#: (name, x shape)
BN_CASES = [("spatial batchnorm on 100x64x16x16", (100, 64, 16, 16))]
#: the naive-vs-fast comparison: (name, x shape, w shape, pad)
NAIVE_CONV = ("conv 3->32 3x3 on 10x3x32x32", (10, 3, 32, 32), (32, 3, 3, 3), 1)
NAIVE_POOL = ("max pool 2x2/2 on 10x32x32x32", (10, 32, 32, 32), 2)

TINY_CONV_CASES = [
    ("conv 3->4 3x3 on 2x3x8x8", (2, 3, 8, 8), (4, 3, 3, 3), 1),
    ("conv 2->3 5x5 on 2x2x8x6", (2, 2, 8, 6), (3, 2, 5, 5), 2),
]
TINY_POOL_CASES = [("max pool 2x2/2 on 2x3x8x8", (2, 3, 8, 8), 2)]
TINY_BN_CASES = [("spatial batchnorm on 2x4x6x6", (2, 4, 6, 6))]
TINY_NAIVE_CONV = ("conv 3->4 3x3 on 2x3x8x8", (2, 3, 8, 8), (4, 3, 3, 3), 1)
TINY_NAIVE_POOL = ("max pool 2x2/2 on 2x3x8x8", (2, 3, 8, 8), 2)

TIMED_KEYS = ("name", "kind", "shapes", "cnnkit_ms", "torch_ms", "ratio")
#: the largest ratio cnnkit / PyTorch aimed for, per kind of layer
TARGETS = {"conv": 1.5, "pool": 1.5, "batchnorm": 2.0}


def _import_torch():
    try:
        import torch
        import torch.nn.functional
    except ImportError:
        return None
    return torch


def blas_threads():
    """Threads numpy's BLAS uses: from threadpoolctl if installed, else os.cpu_count()."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1, "os.cpu_count() (threadpoolctl not installed)"
    counts = [info["num_threads"] for info in threadpool_info()
              if info.get("user_api") == "blas"]
    if not counts:
        return os.cpu_count() or 1, "os.cpu_count() (no BLAS seen by threadpoolctl)"
    return max(counts), "threadpoolctl"


def _blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{k: info.get(k) for k in ("internal_api", "version", "architecture",
                                      "num_threads", "threading_layer")}
            for info in threadpool_info() if info.get("user_api") == "blas"]


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _conv_parallelism():
    controller, threads = fast_threads.blas_controller()
    if controller is None:
        return "BLAS threads inside each product (threadpoolctl not installed)"
    if threads <= 1:
        return "one thread, single-threaded BLAS"
    return f"{threads} worker threads, single-threaded BLAS each"


def machine_info(torch=None, threads=None):
    """Where and when the numbers were taken."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "threads": threads,
        "blas": _blas_info(),
        "kernels": fast_layers.KERNELS,
        "conv_parallelism": _conv_parallelism(),
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                         if k in os.environ},
        "load_average": _load_average(),
    }
    return info


def _time_once(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_pair(cnnkit_fn, torch_fn, repeats):
    """Median seconds of each function over ``repeats`` alternating runs (after warm-ups).

    The order flips every round (ours, theirs, theirs, ours, ...), so neither
    side always runs just after the other, in its caches' or threads' wake.
    """
    for _ in range(2):
        cnnkit_fn()
        if torch_fn is not None:
            torch_fn()
    ours, theirs = [], []
    for round_ in range(repeats):
        if torch_fn is not None and round_ % 2:
            theirs.append(_time_once(torch_fn))
        ours.append(_time_once(cnnkit_fn))
        if torch_fn is not None and not round_ % 2:
            theirs.append(_time_once(torch_fn))
    return float(np.median(ours)), (float(np.median(theirs)) if theirs else None)


def _row(name, kind, shapes, ours, theirs, **extra):
    row = {"name": name, "kind": kind, "shapes": shapes,
           "cnnkit_ms": ours * 1e3,
           "torch_ms": None if theirs is None else theirs * 1e3,
           "ratio": None if theirs is None else ours / theirs}
    row.update(extra)
    return row


def _conv_case(name, x_shape, w_shape, pad, rng, torch, repeats):
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32) * 0.1
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    conv_param = {"stride": 1, "pad": pad}
    out, _ = fast_layers.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    def ours():
        _, cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
        fast_layers.conv_backward_fast(dout, cache)

    theirs = None
    if torch is not None:
        xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        gt = torch.from_numpy(dout)
        conv2d = torch.nn.functional.conv2d

        def theirs():
            for t in (xt, wt, bt):
                t.grad = None
            conv2d(xt, wt, bt, stride=1, padding=pad).backward(gt)

    t_ours, t_theirs = time_pair(ours, theirs, repeats)
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    K, P = C * HH * WW, out.shape[2] * out.shape[3]
    flops = 3 * 2.0 * F * K * N * P          # forward, dx and dw products
    mat_a = rng.standard_normal((F, K), dtype=np.float32)
    mat_b = rng.standard_normal((K, N * P), dtype=np.float32)
    t_mat, _ = time_pair(lambda: mat_a @ mat_b, None, repeats)
    return _row(name, "conv", {"x": list(x_shape), "w": list(w_shape), "stride": 1, "pad": pad},
                t_ours, t_theirs,
                algorithm=fast_layers.conv_algorithm(x_shape, w_shape, conv_param),
                gflops={"cnnkit": flops / t_ours / 1e9,
                        "torch": None if t_theirs is None else flops / t_theirs / 1e9,
                        "matmul": 2.0 * F * K * N * P / t_mat / 1e9,
                        "matmul_shape": [[F, K], [K, N * P]]})


def _pool_case(name, x_shape, size, rng, torch, repeats):
    x = rng.standard_normal(x_shape, dtype=np.float32)
    pool_param = {"pool_height": size, "pool_width": size, "stride": size}
    out, _ = fast_layers.max_pool_forward_fast(x, pool_param)
    dout = rng.standard_normal(out.shape, dtype=np.float32)

    def ours():
        _, cache = fast_layers.max_pool_forward_fast(x, pool_param)
        fast_layers.max_pool_backward_fast(dout, cache)

    theirs = None
    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_()
        gt = torch.from_numpy(dout)
        max_pool2d = torch.nn.functional.max_pool2d

        def theirs():
            xt.grad = None
            max_pool2d(xt, size, size).backward(gt)

    t_ours, t_theirs = time_pair(ours, theirs, repeats)
    return _row(name, "pool", {"x": list(x_shape), "pool": size, "stride": size},
                t_ours, t_theirs)


def _bn_forward_backward():
    fwd = getattr(fast_layers, "spatial_batchnorm_forward_fast",
                  conv_layers.spatial_batchnorm_forward)
    bwd = getattr(fast_layers, "spatial_batchnorm_backward_fast",
                  conv_layers.spatial_batchnorm_backward)
    return fwd, bwd


def _bn_case(name, x_shape, rng, torch, repeats):
    x = rng.standard_normal(x_shape, dtype=np.float32)
    C = x_shape[1]
    gamma = rng.standard_normal(C, dtype=np.float32)
    beta = rng.standard_normal(C, dtype=np.float32)
    dout = rng.standard_normal(x_shape, dtype=np.float32)
    fwd, bwd = _bn_forward_backward()

    def ours():
        _, cache = fwd(x, gamma, beta, {"mode": "train"})
        bwd(dout, cache)

    theirs = None
    if torch is not None:
        xt, gt_, bt = (torch.from_numpy(a).requires_grad_() for a in (x, gamma, beta))
        gt = torch.from_numpy(dout)
        batch_norm = torch.nn.functional.batch_norm

        def theirs():
            for t in (xt, gt_, bt):
                t.grad = None
            batch_norm(xt, None, None, gt_, bt, training=True, eps=1e-5).backward(gt)

    t_ours, t_theirs = time_pair(ours, theirs, repeats)
    return _row(name, "batchnorm", {"x": list(x_shape)}, t_ours, t_theirs,
                implementation=f"{fwd.__module__}.{fwd.__name__}")


def _naive_case(conv_case, pool_case, rng, repeats):
    """Naive loops versus the fast layers on a small batch: the notebook's speed-up."""
    rows = []
    name, x_shape, w_shape, pad = conv_case
    x = rng.standard_normal(x_shape, dtype=np.float32)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    b = rng.standard_normal(w_shape[0], dtype=np.float32)
    cp = {"stride": 1, "pad": pad}
    dout = rng.standard_normal(conv_layers.conv_forward_naive(x, w, b, cp)[0].shape,
                               dtype=np.float32)

    def run(forward, backward, *args):
        def fn():
            _, cache = forward(*args)
            backward(dout, cache)
        return fn

    t_naive, t_fast = time_pair(
        run(conv_layers.conv_forward_naive, conv_layers.conv_backward_naive, x, w, b, cp),
        run(fast_layers.conv_forward_fast, fast_layers.conv_backward_fast, x, w, b, cp),
        repeats)
    rows.append({"name": name, "kind": "conv", "naive_ms": t_naive * 1e3,
                 "fast_ms": t_fast * 1e3, "speedup": t_naive / t_fast})
    name, x_shape, size = pool_case
    x = rng.standard_normal(x_shape, dtype=np.float32)
    pp = {"pool_height": size, "pool_width": size, "stride": size}
    dout = rng.standard_normal(conv_layers.max_pool_forward_naive(x, pp)[0].shape,
                               dtype=np.float32)
    t_naive, t_fast = time_pair(
        run(conv_layers.max_pool_forward_naive, conv_layers.max_pool_backward_naive, x, pp),
        run(fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast, x, pp),
        repeats)
    rows.append({"name": name, "kind": "pool", "naive_ms": t_naive * 1e3,
                 "fast_ms": t_fast * 1e3, "speedup": t_naive / t_fast})
    return rows


def run_benchmark(repeats=7, tiny=False, use_torch=True, seed=0, threads=None):
    """Time every case; return the results as a dict.

    Keys: ``machine`` (see :func:`machine_info`), ``settings`` (repeats,
    tiny, dtype, seed), ``torch_available``, ``note`` (why torch is missing,
    or None), ``cases`` (one dict per layer with ``name``, ``kind``,
    ``shapes``, ``cnnkit_ms``, ``torch_ms``, ``ratio`` = cnnkit / torch, and
    for convolutions ``gflops``), and ``naive`` (naive vs fast on a small
    batch: ``naive_ms``, ``fast_ms``, ``speedup``). ``threads`` (default: the
    number numpy's BLAS uses) sets both libraries' thread count; it needs
    threadpoolctl.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    if threads is None:
        return _run(repeats, tiny, use_torch, seed, *blas_threads())
    if threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ValueError("choosing the thread count needs threadpoolctl "
                         "(pip install threadpoolctl)") from None
    with threadpool_limits(limits=threads, user_api="blas"):
        return _run(repeats, tiny, use_torch, seed, threads, "--threads")


def _run(repeats, tiny, use_torch, seed, threads, threads_source):
    torch = _import_torch() if use_torch else None
    note = None
    if torch is not None:
        torch.set_num_threads(threads)
    elif use_torch:
        note = f"PyTorch is not installed, so only cnnkit was timed ({TORCH_INSTALL_HINT})."
    else:
        note = "PyTorch timing was turned off."
    load_before = _load_average()
    rng = np.random.default_rng(seed)
    cases = []
    for name, x_shape, w_shape, pad in (TINY_CONV_CASES if tiny else CONV_CASES):
        cases.append(_conv_case(name, x_shape, w_shape, pad, rng, torch, repeats))
    for name, x_shape, size in (TINY_POOL_CASES if tiny else POOL_CASES):
        cases.append(_pool_case(name, x_shape, size, rng, torch, repeats))
    for name, x_shape in (TINY_BN_CASES if tiny else BN_CASES):
        cases.append(_bn_case(name, x_shape, rng, torch, repeats))
    naive = _naive_case(TINY_NAIVE_CONV if tiny else NAIVE_CONV,
                        TINY_NAIVE_POOL if tiny else NAIVE_POOL, rng, max(1, min(repeats, 3)))
    machine = machine_info(torch, threads)
    machine["load_average_before"] = load_before
    return {
        "machine": machine,
        "settings": {"repeats": repeats, "tiny": tiny, "dtype": "float32", "seed": seed,
                     "threads_source": threads_source},
        "torch_available": torch is not None,
        "note": note,
        "cases": cases,
        "naive": naive,
    }
