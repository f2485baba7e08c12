"""Fast convolution and max pooling: the same layers as :mod:`conv_layers`, quicker.

Each function has the signature of its naive twin and returns the same values
(to rounding). The loops run in kernels (im2col, col2im, layout changes,
max-pool forward/backward) taken from the compiled extension
``cnnkit.reference._kernels`` or, when that is not compiled, from the
pure-numpy :mod:`cnnkit.reference._numpy_kernels` (one ``RuntimeWarning`` says
so at import). ``KERNELS`` names the one in use: ``"cython"`` or ``"numpy"``.

Convolution works on a zero-padded channels-last copy of ``x`` so that im2col
copies whole window rows (with few channels, ``NCHW_RUN_BELOW``, on ``x`` as
it is, channels-first, instead). Per chunk of images (about ``CHUNK_BYTES`` of
columns, so they stay in the CPU cache)::

    cols (images*H'*W', K) = im2col(xp)             K = HH*WW*C
    out rows (images*H'*W', F) = cols @ wk.T        wk = w as (F, K)
    dw += cols.T @ dout_rows,  dcols = dout_rows @ wk,  dx += col2im(dcols)

The backward pass rebuilds the columns chunk by chunk (cheaper than reading
them back from memory). A 3x3 stride-1 convolution with enough channels and
pixels (``WINOGRAD_MIN_CHANNELS``, ``WINOGRAD_MIN_SIZE``) instead runs on
Winograd F(4x4, 3x3) tiles, channels-last, per chunk of images::

    V (36, tiles, C) = B^T d B of the 6x6 input tiles d
    M[e] = V[e] @ U[e]   for e < 36, U = G w G^T (36, C, F);   out = A^T M A per tile
    dW[e] += V[e].T @ D[e],  D = A g A^T of dout's 4x4 tiles g;   dw = G^T dW G
    dx: the same forward pass on dout, with the filters turned and transposed

which needs 4x fewer multiplications; float32 results then differ from a
direct sum by up to about 1e-5 of their largest value (float64: 1e-14).

When threadpoolctl is installed and BLAS has several threads, the chunks are
shared among that many Python threads, each with a single-threaded BLAS, so
the copies run in parallel too; otherwise one thread walks the chunks and BLAS
parallelises each product. Workers take the next chunk when they finish one,
and per-chunk terms (dw, db) are summed in chunk order, so the results never
depend on which worker took which chunk.

Max pooling shares its images among the same workers, and spatial batch
normalization (here too, computed on an (N, C, H*W) view instead of the naive
layer's copies to and from an (N*H*W, C) matrix) shares its channels; with
:func:`spatial_batchnorm_relu_forward_fast` the ReLU after it runs in the same
pass.
"""
import contextlib
import importlib
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _numpy_kernels
from .checks import bn_settings, check_array, check_upstream, conv_geometry, pool_geometry

#: bytes of im2col columns handled at once (about an L2 cache's worth)
CHUNK_BYTES = 1 << 20
#: convolutions whose window rows hold fewer values than this (``WW * C``, as
#: for an RGB input) run in channels-first layout, where im2col copies image
#: rows instead of these short runs: on 3->32 channels 3x3, 1.8x faster per
#: chunk forward and 1.1x backward (measured beside the other layout)
NCHW_RUN_BELOW = 16
#: 3x3 stride-1 convolutions with at least this many input and output channels
#: and outputs of at least WINOGRAD_MIN_SIZE x WINOGRAD_MIN_SIZE (and pad <= 2)
#: run on Winograd F(4x4, 3x3) tiles: 36 products per 4x4 outputs instead of
#: 144, in 36 matrix products over channels. With fewer channels those products
#: are too thin, and on smaller images too few, to pay for the tile transforms
#: (measured beside im2col: 1.3x faster on 32->64 channels at 16x16 and
#: 64->128 at 8x8, 2.4x slower on 128->128 at 4x4).
WINOGRAD_MIN_CHANNELS = 16
WINOGRAD_MIN_SIZE = 8
#: the Winograd filter transform: each 3x3 filter w becomes G w G^T (6x6)
_WINOGRAD_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                        [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])


def _load_kernels():
    """Return ``(module, name)``: the compiled kernels, else the numpy ones with a warning."""
    try:
        kernels = importlib.import_module(f"{__package__}._kernels")
    except ImportError as err:
        warnings.warn(
            f"{__package__}.fast_layers: the compiled kernels "
            f"({__package__}._kernels) could not be imported ({err}); "
            "using the slower pure-numpy kernels instead. To compile them, run "
            "`pip install .` (or `pip install -e .`) again in the folder that holds "
            "pyproject.toml; this needs a C compiler, and the build fetches Cython >= 3.",
            RuntimeWarning, stacklevel=2)
        return _numpy_kernels, "numpy"
    return kernels, "cython"


_K, KERNELS = _load_kernels()


_POOL_LOCK = threading.Lock()
_POOL = {}


def _blas_controller():
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


def _n_chunks(N, step):
    return -(-N // step)


def _map_workers(work, N, step):
    """Share the chunks of items ``0..N`` among workers, each running ``work(chunks)``.

    ``work`` iterates over ``chunks``, a shared :class:`_Chunks`, and must write
    only the items (images, or channels) of the chunks it takes, and any
    per-chunk results at the chunk's index, so that results do not depend on
    which worker took which chunk. With several workers, BLAS is limited to one
    thread while they run. If another thread is already using the workers, or
    no thread can be started (a sandbox's process limit), this call runs
    serially.
    """
    controller, blas_threads = _blas_controller()
    workers = min(os.cpu_count() or 1, _n_chunks(N, step))
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


def _chunk(n_items, bytes_per_item):
    """How many images to process at once so that a chunk is about CHUNK_BYTES."""
    return int(max(1, min(n_items, CHUNK_BYTES // max(1, bytes_per_item))))


def _channel_chunk(n_channels):
    """Channels per chunk: about 4 chunks per worker, for balance at little overhead."""
    return max(1, n_channels // (4 * (os.cpu_count() or 1)))


def _padded_nhwc(x, pad, dtype):
    """``x`` (N, C, H, W) as a zero-padded channels-last (N, H+2*pad, W+2*pad, C) copy."""
    N, C, H, W = x.shape
    xp = np.empty((N, H + 2 * pad, W + 2 * pad, C), dtype=dtype)
    _K.pad_to_nhwc(np.ascontiguousarray(x, dtype=dtype), xp, pad)
    return xp


def _cached_nhwc(cache, shape, x, pad, dtype):
    """The channels-last copy of ``x`` padded by ``pad`` that a forward cache holds, else a new one.

    The im2col forward pass caches ``x`` padded, the Winograd one unpadded;
    a cache from the other path (or from the naive layer) gets a fresh copy.
    """
    if len(cache) > 4 and cache[4].shape == shape and cache[4].dtype == dtype:
        return cache[4]
    return _padded_nhwc(x, pad, dtype)


def _filters_as_matrix(w, dtype):
    """``w`` (F, C, HH, WW) as an (F, HH*WW*C) matrix in im2col's column order."""
    F = w.shape[0]
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1), dtype=dtype).reshape(F, -1)


def conv_forward_fast(x, w, b, conv_param):
    """Convolution forward pass (im2col + matrix product).

    Parameters
    ----------
    x : (N, C, H, W) input.
    w : (F, C, HH, WW) filters.
    b : (F,) biases.
    conv_param : dict with ``stride`` (int >= 1) and ``pad`` (int >= 0).

    Returns
    -------
    out : (N, F, H', W') with ``H' = (H + 2*pad - HH) // stride + 1`` and
        ``W' = (W + 2*pad - WW) // stride + 1``, in ``np.result_type(x, w)``.
    cache : ``(x, w, b, conv_param, xp)``: the naive layer's four items plus
        ``xp``, ``x`` in channels-last order (N, H+2*pad, W+2*pad, C),
        zero-padded (unpadded for Winograd), which the backward pass reuses;
        with few channels (``WW * C < NCHW_RUN_BELOW``) the naive four items
        only. :func:`conv_backward_fast` accepts all of them.
    """
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, H_out * W_out
    dtype = np.result_type(x, w)
    xc = np.ascontiguousarray(x, dtype=dtype)
    bias = np.ascontiguousarray(b, dtype=dtype)
    out = np.empty((N, F, P), dtype=dtype)
    algorithm = _algorithm(C, F, HH, WW, stride, pad, H_out, W_out)
    if algorithm == "winograd":
        xh = _conv_forward_winograd(xc, w, bias, pad, out, H_out, W_out)
        return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, xh)
    step = _chunk(N, K * P * out.itemsize)
    if algorithm == "im2col-nchw":
        _conv_forward_nchw(xc, w, bias, stride, pad, out, step)
        return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param)
    xp = np.empty((N, H + 2 * pad, W + 2 * pad, C), dtype=dtype)
    wk_t = _filters_as_matrix(w, dtype).T                  # (K, F), a view

    def work(chunks):
        cbuf = np.empty((step * P, K), dtype=dtype)
        obuf = np.empty((step * P, F), dtype=dtype)
        for _, n0, n1 in chunks:
            m = (n1 - n0) * P
            _K.pad_to_nhwc(xc[n0:n1], xp[n0:n1], pad)
            cols = cbuf[:m]
            _K.im2col(xp[n0:n1], cols, HH, WW, stride)
            rows = np.matmul(cols, wk_t, out=obuf[:m])       # (images*P, F)
            _K.rows_to_nchw(rows, out[n0:n1], bias)

    _map_workers(work, N, step)
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param, xp)


def _conv_forward_nchw(xc, w, bias, stride, pad, out, step):
    """Fill ``out`` (N, F, P) with the convolution, in channels-first layout.

    Per chunk of images, ``out[n] = w as (F, C*HH*WW) @ cols[n] + bias`` with
    ``cols[n]`` (C*HH*WW, P) from ``im2col_nchw``: no padded copy and no
    transposes, which pays when the window rows (``WW * C`` values) are short.
    """
    N = xc.shape[0]
    F, _, HH, WW = w.shape
    wmat = np.ascontiguousarray(w, dtype=out.dtype).reshape(F, -1)
    shift = bias[:, None]

    def work(chunks):
        cbuf = np.empty((step,) + wmat.shape[1:] + out.shape[2:], dtype=out.dtype)
        for _, n0, n1 in chunks:
            cols = cbuf[:n1 - n0]
            _K.im2col_nchw(xc[n0:n1], cols, HH, WW, stride, pad)
            np.add(np.matmul(wmat, cols, out=out[n0:n1]), shift, out=out[n0:n1])

    _map_workers(work, N, step)


def conv_backward_fast(dout, cache, need_dx=True):
    """Convolution backward pass.

    Parameters
    ----------
    dout : (N, F, H', W') upstream gradient.
    cache : from :func:`conv_forward_fast` (or :func:`conv_forward_naive`).
    need_dx : False skips the input gradient (a network's first layer, whose
        input is the data, does not need it) and returns ``None`` for it.

    Returns
    -------
    dx : (N, C, H, W) like ``x``, dw : (F, C, HH, WW) like ``w``, db : (F,).
    """
    x, w, b, conv_param = cache[:4]
    stride, pad, H_out, W_out = conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    check_upstream(dout, (N, F, H_out, W_out))
    dtype = np.result_type(x, w)
    d3 = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, H_out * W_out)
    algorithm = _algorithm(C, F, HH, WW, stride, pad, H_out, W_out)
    if algorithm == "winograd":
        xh = _cached_nhwc(cache, (N, H, W, C), x, 0, dtype)
        dx, dw, db = _conv_backward_winograd(xh, w, d3, H_out, W_out, pad, need_dx)
    elif algorithm == "im2col-nchw":
        xc = np.ascontiguousarray(x, dtype=dtype)
        dx, dw, db = _conv_backward_nchw(xc, w, d3, stride, pad, need_dx)
    else:
        xp = _cached_nhwc(cache, (N, H + 2 * pad, W + 2 * pad, C), x, pad, dtype)
        dx, dw, db = _conv_backward_nhwc(xp, w, d3, stride, pad, need_dx)
    return ((dx.astype(x.dtype, copy=False) if need_dx else None), dw.astype(w.dtype),
            db.astype(dout.dtype))


def _conv_backward_nhwc(xp, w, d3, stride, pad, need_dx):
    """``(dx or None, dw, db)`` by channels-last im2col, from ``xp``: x padded, channels-last."""
    N, Hp, Wp, C = xp.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, d3.shape[2]
    dtype = xp.dtype
    wk = _filters_as_matrix(w, dtype)
    dx = np.empty((N, C, Hp - 2 * pad, Wp - 2 * pad), dtype=dtype) if need_dx else None
    step = _chunk(N, K * P * np.dtype(dtype).itemsize)
    # One dw and db term per chunk, summed in chunk order afterwards: the sum
    # is then the same whichever worker took which chunk.
    n_chunks = _n_chunks(N, step)
    dw_terms = np.empty((n_chunks, K, F), dtype=dtype)
    db_terms = np.zeros((n_chunks, F), dtype=np.float64)

    def work(chunks):
        cbuf = np.empty((step * P, K), dtype=dtype)
        gbuf = np.empty((step * P, F), dtype=dtype)
        dxp = np.empty((step,) + xp.shape[1:], dtype=dtype) if need_dx else None
        for index, n0, n1 in chunks:
            m = (n1 - n0) * P
            g = gbuf[:m]
            _K.nchw_to_rows(d3[n0:n1], g, db_terms[index])
            cols = cbuf[:m]
            _K.im2col(xp[n0:n1], cols, HH, WW, stride)
            np.matmul(cols.T, g, out=dw_terms[index])
            if not need_dx:
                continue
            dcols = np.matmul(g, wk, out=cols)    # the columns are spent: reuse them
            _K.col2im(dcols, dxp[:n1 - n0], HH, WW, stride)
            _K.unpad_from_nhwc(dxp[:n1 - n0], dx[n0:n1], pad)

    _map_workers(work, N, step)
    dw = dw_terms.sum(axis=0).reshape(HH, WW, C, F).transpose(3, 2, 0, 1)
    return dx, dw, db_terms.sum(axis=0)


def _conv_backward_nchw(xc, w, d3, stride, pad, need_dx):
    """``(dx or None, dw, db)`` by channels-first im2col, for few input channels.

    Per image: ``dw += dout[n] @ cols[n].T`` (one batched product per chunk,
    summed) and ``dx[n] = col2im_nchw(w.T @ dout[n])``, with ``cols[n]``
    (C*HH*WW, P) from ``im2col_nchw``: no padded or channels-last copies, as
    in :func:`_conv_forward_nchw`.
    """
    N, C, H, W = xc.shape
    F, _, HH, WW = w.shape
    K, P = C * HH * WW, d3.shape[2]
    dtype = xc.dtype
    wmat_t = np.ascontiguousarray(w, dtype=dtype).reshape(F, K).T       # (K, F), a view
    dx = np.empty((N, C, H, W), dtype=dtype) if need_dx else None
    step = _chunk(N, K * P * np.dtype(dtype).itemsize)
    n_chunks = _n_chunks(N, step)
    dw_terms = np.empty((n_chunks, F, K), dtype=dtype)
    db_terms = np.empty((n_chunks, F), dtype=np.float64)

    def work(chunks):
        cbuf = np.empty((step, K, P), dtype=dtype)
        terms = np.empty((step, F, K), dtype=dtype)
        for index, n0, n1 in chunks:
            cols = cbuf[:n1 - n0]
            _K.im2col_nchw(xc[n0:n1], cols, HH, WW, stride, pad)
            per_image = np.matmul(d3[n0:n1], cols.transpose(0, 2, 1), out=terms[:n1 - n0])
            per_image.sum(axis=0, out=dw_terms[index])
            d3[n0:n1].sum(axis=(0, 2), dtype=np.float64, out=db_terms[index])
            if need_dx:
                dcols = np.matmul(wmat_t, d3[n0:n1], out=cols)   # the columns are spent
                _K.col2im_nchw(dcols, dx[n0:n1], HH, WW, stride, pad)

    _map_workers(work, N, step)
    return dx, dw_terms.sum(axis=0).reshape(F, C, HH, WW), db_terms.sum(axis=0)


def conv_algorithm(x_shape, w_shape, conv_param):
    """Which algorithm :func:`conv_forward_fast` uses for these shapes, as a word.

    ``"winograd"``, ``"im2col"`` (channels-last) or ``"im2col-nchw"``
    (channels-first, for few input channels).
    """
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    return _algorithm(C, F, HH, WW, stride, pad, H_out, W_out)


def _algorithm(C, F, HH, WW, stride, pad, H_out, W_out):
    """The rule behind :func:`conv_algorithm`, on the numbers both conv passes have at hand."""
    if _winograd_applies(C, F, HH, WW, stride, pad, H_out, W_out):
        return "winograd"
    return "im2col-nchw" if WW * C < NCHW_RUN_BELOW else "im2col"


def _winograd_applies(C, F, HH, WW, stride, pad, H_out, W_out):
    return (HH == WW == 3 and stride == 1 and pad <= 2
            and min(C, F) >= WINOGRAD_MIN_CHANNELS and min(H_out, W_out) >= WINOGRAD_MIN_SIZE)


def _winograd_filters(w, dtype):
    """``w`` (F, C, 3, 3) as (36, C, F): ``G w G^T`` per filter and channel."""
    F, C = w.shape[:2]
    wg = np.matmul(np.asarray(w, dtype=np.float64).reshape(-1, 3), _WINOGRAD_G.T)  # (F*C*3, 6)
    u = np.matmul(_WINOGRAD_G, wg.reshape(F * C, 3, 6).transpose(1, 0, 2).reshape(3, -1))
    return u.reshape(6, F, C, 6).transpose(0, 3, 2, 1).reshape(36, C, F).astype(dtype)


def _winograd_filter_grad(dW):
    """The (F, C, 3, 3) filter gradient from its Winograd form ``dW`` (36, C, F): ``G^T dW G``."""
    _, C, F = dW.shape
    t = np.matmul(_WINOGRAD_G.T, dW.reshape(6, -1)).reshape(3, 6, C, F)     # (i, b, C, F)
    dw = np.matmul(t.transpose(0, 2, 3, 1).reshape(-1, 6), _WINOGRAD_G)       # (i*C*F, j)
    return dw.reshape(3, C, F, 3).transpose(2, 1, 0, 3)


def _tile_buffer(tiles, channels, dtype):
    """A buffer of 36 tile planes, and a function giving its (36, t, channels) view for ``t <= tiles``.

    The planes lie a 4 KiB multiple plus one cache line apart: the kernels
    touch many planes at once, and streams a multiple of 4 KiB apart would
    share one set of the L1 cache (measured: 5x slower).
    """
    stride = -(-tiles * channels // 1024) * 1024 + 64 // np.dtype(dtype).itemsize
    buf = np.empty((36, stride), dtype=dtype)
    return lambda t: buf[:, :t * channels].reshape(36, t, channels)


def _conv_forward_winograd(xc, w, bias, pad, out, H_out, W_out):
    """Fill ``out`` (N, F, H'*W') with the 3x3 stride-1 convolution on Winograd tiles.

    Per chunk of images, in channels-last layout: ``V = B^T d B`` of the
    input's 6x6 tiles (36, tiles, C), 36 products ``M[e] = V[e] @ U[e]`` with
    ``U = G w G^T`` (36, C, F), and ``A^T M A`` tile by tile. Returns the
    channels-last copy of ``x`` (N, H, W, C), which the backward pass reuses.
    """
    N, C, H, W = xc.shape
    F = w.shape[0]
    th, tw = (H_out + 3) // 4, (W_out + 3) // 4
    T, P = th * tw, H_out * W_out
    dtype = out.dtype
    U = _winograd_filters(w, dtype)
    xh = np.empty((N, H, W, C), dtype=dtype)
    step = _chunk(N, 36 * T * (C + F) * out.itemsize)

    def work(chunks):
        tiles = _tile_buffer(step * T, C, dtype)
        products = _tile_buffer(step * T, F, dtype)
        rows = np.empty((step * P, F), dtype=dtype)
        for _, n0, n1 in chunks:
            n = n1 - n0
            _K.pad_to_nhwc(xc[n0:n1], xh[n0:n1], 0)
            V = tiles(n * T)
            _K.winograd_tiles(xh[n0:n1], V, th, tw, pad)
            M = np.matmul(V, U, out=products(n * T))
            _K.winograd_untile(M, rows[:n * P].reshape(n, H_out, W_out, F), th, tw)
            _K.rows_to_nchw(rows[:n * P], out[n0:n1], bias)

    _map_workers(work, N, step)
    return xh


def _conv_backward_winograd(xh, w, d3, H_out, W_out, pad, need_dx):
    """``(dx or None, dw, db)`` of the 3x3 stride-1 convolution, on Winograd tiles.

    ``xh`` is the channels-last input (N, H, W, C) and ``d3`` the output
    gradient (N, F, H'*W'). ``dw = G^T (sum over tiles of V[e].T @ D[e]) G``
    with ``V`` the forward pass's input tiles and ``D = A g A^T`` of the
    gradient's 4x4 tiles ``g``; ``dx`` is the convolution of the gradient,
    padded by ``2 - pad``, with the filters turned 180 degrees and their input
    and output channels swapped.
    """
    N, H, W, C = xh.shape
    F = w.shape[0]
    dtype = xh.dtype
    th, tw = (H_out + 3) // 4, (W_out + 3) // 4
    thx, twx = (H + 3) // 4, (W + 3) // 4
    T, Tx, P = th * tw, thx * twx, H_out * W_out
    Uw = _winograd_filters(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), dtype)  # (36, F, C)
    dx = np.empty((N, C, H, W), dtype=dtype) if need_dx else None
    step = _chunk(N, 36 * max(T, Tx) * (C + F) * np.dtype(dtype).itemsize)
    # One dw and db term per chunk, summed in chunk order afterwards (see conv_backward_fast).
    n_chunks = _n_chunks(N, step)
    dW_terms = np.empty((n_chunks, 36, C, F), dtype=dtype)
    db_terms = np.zeros((n_chunks, F), dtype=np.float64)

    def work(chunks):
        # x's tiles, then dx's products; the gradient's tiles for dw, then for dx
        c_tiles = _tile_buffer(step * max(T, Tx), C, dtype)
        f_tiles = _tile_buffer(step * max(T, Tx), F, dtype)
        g_rows = np.empty((step * P, F), dtype=dtype)
        dx_rows = np.empty((step, H, W, C), dtype=dtype) if need_dx else None
        for index, n0, n1 in chunks:
            n = n1 - n0
            g = g_rows[:n * P]
            _K.nchw_to_rows(d3[n0:n1], g, db_terms[index])
            g = g.reshape(n, H_out, W_out, F)
            V, D = c_tiles(n * T), f_tiles(n * T)
            _K.winograd_tiles(xh[n0:n1], V, th, tw, pad)
            _K.winograd_grad_tiles(g, D)
            np.matmul(V.transpose(0, 2, 1), D, out=dW_terms[index])
            if not need_dx:
                continue
            Vd = f_tiles(n * Tx)
            _K.winograd_tiles(g, Vd, thx, twx, 2 - pad)
            M = np.matmul(Vd, Uw, out=c_tiles(n * Tx))
            _K.winograd_untile(M, dx_rows[:n], thx, twx)
            _K.unpad_from_nhwc(dx_rows[:n], dx[n0:n1], 0)

    _map_workers(work, N, step)
    return dx, _winograd_filter_grad(dW_terms.sum(axis=0)), db_terms.sum(axis=0)


def max_pool_forward_fast(x, pool_param):
    """Max pooling forward pass.

    Parameters
    ----------
    x : (N, C, H, W) input.
    pool_param : dict with ``pool_height``, ``pool_width`` and ``stride``;
        windows may overlap or leave gaps.

    Returns
    -------
    out : (N, C, H', W') with ``H' = (H - pool_height) // stride + 1`` and
        ``W' = (W - pool_width) // stride + 1``.
    cache : ``(x, pool_param, argmax)``, where ``argmax`` (N, C, H', W')
        int32 holds, for each window, the flat index ``r*W + c`` in its
        (H, W) plane of the window's first maximum (row-major order). The
        backward passes also accept the naive layer's ``(x, pool_param)``.
    """
    HP, WP, stride, H_out, W_out = pool_geometry(x, pool_param)
    xc = np.ascontiguousarray(x)
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    argmax = np.empty((N, C, H_out, W_out), dtype=np.int32)

    def work(chunks):
        for _, n0, n1 in chunks:
            _K.maxpool_forward(xc[n0:n1], out[n0:n1], argmax[n0:n1], HP, WP, stride)

    _map_workers(work, N, _chunk(N, xc[:1].nbytes))
    return out, (x, pool_param, argmax)


def max_pool_backward_fast(dout, cache):
    """Max pooling backward pass.

    Each window's gradient goes to its first maximum (row-major order), and
    overlapping windows add up, as in :func:`max_pool_backward_naive`.

    Parameters
    ----------
    dout : (N, C, H', W') upstream gradient.
    cache : from :func:`max_pool_forward_fast` (or the naive forward).

    Returns
    -------
    dx : (N, C, H, W), like ``x``.
    """
    x, pool_param = cache[:2]
    HP, WP, stride, H_out, W_out = pool_geometry(x, pool_param)
    check_upstream(dout, x.shape[:2] + (H_out, W_out))
    if len(cache) > 2:
        argmax = cache[2]
    else:
        _, (_, _, argmax) = max_pool_forward_fast(x, pool_param)
    dx = np.empty(x.shape, dtype=x.dtype)
    dout = np.ascontiguousarray(dout, dtype=x.dtype)

    def work(chunks):
        for _, n0, n1 in chunks:
            _K.maxpool_backward(dout[n0:n1], argmax[n0:n1], dx[n0:n1])

    _map_workers(work, x.shape[0], _chunk(x.shape[0], dx[:1].nbytes))
    return dx


def spatial_batchnorm_forward_fast(x, gamma, beta, bn_param):
    """Spatial batch normalization forward pass, computed on (N, C, H*W).

    Same contract as :func:`conv_layers.spatial_batchnorm_forward` (each
    channel normalised over ``N*H*W`` values; ``bn_param`` with ``mode``,
    optional ``eps`` (1e-5), ``momentum`` (0.9), ``running_mean`` and
    ``running_var`` (C,) created if absent and updated in place in train
    mode), without the copies to and from an (N*H*W, C) matrix; per-channel
    sums are accumulated in float64.

    Returns out : (N, C, H, W) like ``x``; cache ``(x, mean, inv_std, gamma,
    mode)`` with ``x`` viewed as (N, C, H*W) and the float64 (C,) statistics
    used; the backward pass recomputes the normalised input from them (cheaper
    than writing it to memory and reading it back).
    """
    out, cache = _batchnorm_forward(x, gamma, beta, bn_param, relu=False)
    return out.reshape(x.shape), cache


def spatial_batchnorm_relu_forward_fast(x, gamma, beta, bn_param):
    """Spatial batch normalization then ReLU, in one pass over the data.

    Same values as :func:`spatial_batchnorm_forward_fast` followed by
    :func:`layers.relu_forward`. Returns out : (N, C, H, W) like ``x``; cache
    the 5 items of :func:`spatial_batchnorm_forward_fast`'s, then ``out``
    viewed as (N, C, H*W).
    """
    out, cache = _batchnorm_forward(x, gamma, beta, bn_param, relu=True)
    return out.reshape(x.shape), cache + (out,)


def _batchnorm_forward(x, gamma, beta, bn_param, relu):
    """The two forward passes above; returns out as (N, C, H*W) and the 5-item cache."""
    check_array(x, "x", ndim=4)
    mode, eps, momentum, running_mean, running_var = bn_settings(bn_param, x, gamma, beta, 1)
    N, C, H, W = x.shape
    x3 = np.ascontiguousarray(x).reshape(N, C, H * W)
    out = np.empty(x3.shape, dtype=x.dtype)
    train = mode == "train"
    mean = np.empty(C) if train else np.array(running_mean, dtype=np.float64)
    var = np.empty(C) if train else np.array(running_var, dtype=np.float64)
    inv_std = np.empty(C)
    gamma64 = np.asarray(gamma, dtype=np.float64)
    beta64 = np.asarray(beta, dtype=np.float64)

    def work(chunks):                         # chunks of channels
        for _, c0, c1 in chunks:
            _K.bn_forward(x3[:, c0:c1], mean[c0:c1], var[c0:c1], inv_std[c0:c1],
                          gamma64[c0:c1], beta64[c0:c1], eps, train, relu, out[:, c0:c1])

    _map_workers(work, C, _channel_chunk(C))
    if train:
        running_mean *= momentum
        running_mean += (1 - momentum) * mean.astype(running_mean.dtype)
        running_var *= momentum
        running_var += (1 - momentum) * var.astype(running_var.dtype)
    return out, (x3, mean, inv_std, gamma, mode)


def spatial_batchnorm_backward_fast(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward_fast`.

    dout : (N, C, H, W). Returns dx : (N, C, H, W), dgamma : (C,), dbeta : (C,).
    """
    return _batchnorm_backward(dout, cache, relu_out=None)


def spatial_batchnorm_relu_backward_fast(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_relu_forward_fast` (ReLU, then batch norm).

    dout : (N, C, H, W). Returns dx : (N, C, H, W), dgamma : (C,), dbeta : (C,).
    """
    return _batchnorm_backward(dout, cache[:5], relu_out=cache[5])


def _batchnorm_backward(dout, cache, relu_out):
    check_array(dout, "dout", ndim=4)
    x3, mean, inv_std, gamma, mode = cache
    N, C, H, W = dout.shape
    if x3.shape != (N, C, H * W):
        raise ValueError(f"dout has shape {dout.shape}, which does not match the cache "
                         f"(N, C, H*W) = {x3.shape}")
    d3 = np.ascontiguousarray(dout, dtype=x3.dtype).reshape(N, C, H * W)
    dx = np.empty(x3.shape, dtype=x3.dtype)
    dgamma = np.empty(C)
    dbeta = np.empty(C)
    gamma64 = np.asarray(gamma, dtype=np.float64)

    def work(chunks):                         # chunks of channels
        for _, c0, c1 in chunks:
            _K.bn_backward(d3[:, c0:c1], x3[:, c0:c1], mean[c0:c1], inv_std[c0:c1],
                           gamma64[c0:c1], mode == "train", dx[:, c0:c1], dgamma[c0:c1],
                           dbeta[c0:c1], None if relu_out is None else relu_out[:, c0:c1])

    _map_workers(work, C, _channel_chunk(C))
    return (dx.reshape(dout.shape), dgamma.astype(dout.dtype), dbeta.astype(dout.dtype))
