"""3x3 stride-1 convolution on Winograd F(4x4, 3x3) tiles, channels-last.

Per chunk of images::

    V (36, tiles, C) = B^T d B of the 6x6 input tiles d
    M[e] = V[e] @ U[e]   for e < 36, U = G w G^T (36, C, F);   out = A^T M A per tile
    dW[e] += V[e].T @ D[e],  D = A g A^T of dout's 4x4 tiles g;   dw = G^T dW G
    dx: the same forward pass on dout, with the filters turned and transposed

which needs 4x fewer multiplications than a direct sum; float32 results then
differ from it by up to about 1e-5 of their largest value (float64: 1e-14).
:mod:`.fast_conv` decides when to use it.
"""
import numpy as np

from . import fast_kernels, fast_threads

#: the Winograd filter transform: each 3x3 filter w becomes G w G^T (6x6)
_WINOGRAD_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                        [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])


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


def conv_forward_winograd(xc, w, bias, pad, out, H_out, W_out):
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
    step = fast_threads.image_chunk(N, 36 * T * (C + F) * out.itemsize)

    def work(chunks):
        tiles = _tile_buffer(step * T, C, dtype)
        products = _tile_buffer(step * T, F, dtype)
        rows = np.empty((step * P, F), dtype=dtype)
        for _, n0, n1 in chunks:
            n = n1 - n0
            fast_kernels.K.pad_to_nhwc(xc[n0:n1], xh[n0:n1], 0)
            V = tiles(n * T)
            fast_kernels.K.winograd_tiles(xh[n0:n1], V, th, tw, pad)
            M = np.matmul(V, U, out=products(n * T))
            fast_kernels.K.winograd_untile(M, rows[:n * P].reshape(n, H_out, W_out, F), th, tw)
            fast_kernels.K.rows_to_nchw(rows[:n * P], out[n0:n1], bias)

    fast_threads.map_workers(work, N, step)
    return xh


def conv_backward_winograd(xh, w, d3, H_out, W_out, pad, need_dx):
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
    step = fast_threads.image_chunk(N, 36 * max(T, Tx) * (C + F) * np.dtype(dtype).itemsize)
    # One dw and db term per chunk, summed in chunk order afterwards (see conv_backward_fast).
    n_chunks = fast_threads.n_chunks(N, step)
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
            fast_kernels.K.nchw_to_rows(d3[n0:n1], g, db_terms[index])
            g = g.reshape(n, H_out, W_out, F)
            V, D = c_tiles(n * T), f_tiles(n * T)
            fast_kernels.K.winograd_tiles(xh[n0:n1], V, th, tw, pad)
            fast_kernels.K.winograd_grad_tiles(g, D)
            np.matmul(V.transpose(0, 2, 1), D, out=dW_terms[index])
            if not need_dx:
                continue
            Vd = f_tiles(n * Tx)
            fast_kernels.K.winograd_tiles(g, Vd, thx, twx, 2 - pad)
            M = np.matmul(Vd, Uw, out=c_tiles(n * Tx))
            fast_kernels.K.winograd_untile(M, dx_rows[:n], thx, twx)
            fast_kernels.K.unpad_from_nhwc(dx_rows[:n], dx[n0:n1], 0)

    fast_threads.map_workers(work, N, step)
    return dx, _winograd_filter_grad(dW_terms.sum(axis=0)), db_terms.sum(axis=0)
