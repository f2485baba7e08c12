# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled kernels behind :mod:`cnnkit.reference.fast_layers`.

Four kernels, each for float32 and float64 (a fused type), written with typed
memoryviews only (no numpy C headers). Every kernel fills an output array the
caller allocated and releases the GIL while it runs. The pure-numpy module
:mod:`cnnkit.reference._numpy_kernels` has the same functions with the same
contracts; it is the fallback when this extension is not compiled.

Layouts (``P = H_out * W_out``, ``K = C * HH * WW``)::

    im2col   x (N, C, H, W)  ->  cols (N, K, P)
             cols[n, (c*HH + i)*WW + j, ho*W_out + wo]
                 = x[n, c, ho*stride + i - pad, wo*stride + j - pad]  (0 outside)
    col2im   cols (N, K, P)  ->  dx (N, C, H, W), the adjoint of im2col
             (overlapping windows add up; padding is dropped)
    maxpool_forward   x (N, C, H, W) -> out, argmax (N, C, H_out, W_out)
             argmax holds the flat index r*W + c, inside its (H, W) plane, of
             the FIRST maximum of the window in row-major order (the first NaN
             if the window has one, as numpy's argmax does)
    maxpool_backward  dout, argmax -> dx (N, C, H, W), scatter-add
"""

ctypedef fused real:
    float
    double


cdef inline Py_ssize_t _first_valid(Py_ssize_t offset, Py_ssize_t pad,
                                    Py_ssize_t stride) noexcept nogil:
    """Smallest output index o >= 0 with o*stride + offset - pad >= 0."""
    if offset >= pad:
        return 0
    return (pad - offset + stride - 1) // stride


cdef inline Py_ssize_t _end_valid(Py_ssize_t offset, Py_ssize_t pad,
                                  Py_ssize_t stride, Py_ssize_t size,
                                  Py_ssize_t n_out) noexcept nogil:
    """One past the largest output index o with o*stride + offset - pad < size."""
    cdef Py_ssize_t last = size - 1 - offset + pad
    if last < 0:
        return 0
    last = last // stride + 1
    return last if last < n_out else n_out


cdef void _im2col_same_width(const real *plane, real *dst, Py_ssize_t H, Py_ssize_t W,
                             Py_ssize_t H_out, Py_ssize_t h_lo, Py_ssize_t h_hi,
                             Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t shift) noexcept nogil:
    """One row of im2col when stride is 1 and the output is as wide as the input.

    Then ``dst[t] = plane[t + shift]`` for every valid ``t = ho*W + wo``: one
    contiguous copy, after which the few positions that wrapped around a row
    end (or lie in the padding) are set to zero.
    """
    cdef Py_ssize_t t, t0 = h_lo * W, t1 = h_hi * W, ho, wo
    if t0 < -shift:
        t0 = -shift
    if t1 > H * W - shift:
        t1 = H * W - shift
    for t in range(h_lo * W):
        dst[t] = 0
    for t in range(t0, t1):
        dst[t] = plane[t + shift]
    for t in range(h_hi * W, H_out * W):
        dst[t] = 0
    for ho in range(h_lo, h_hi):
        for wo in range(lo):
            dst[ho * W + wo] = 0
        for wo in range(hi, W):
            dst[ho * W + wo] = 0


def im2col(const real[:, :, :, ::1] x, real[:, :, ::1] cols,
           Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad):
    """Fill ``cols`` (N, C*HH*WW, H_out*W_out) with the windows of ``x``."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = (H + 2 * pad - HH) // stride + 1
    cdef Py_ssize_t W_out = (W + 2 * pad - WW) // stride + 1
    cdef Py_ssize_t n, c, i, j, k, ho, wo, r, lo, hi, h_lo, h_hi, col0
    cdef const real *src
    cdef real *dst
    if cols.shape[0] != N or cols.shape[1] != C * HH * WW or cols.shape[2] != H_out * W_out:
        raise ValueError(f"im2col: cols has shape {tuple(cols.shape)[:3]}, expected "
                         f"({N}, {C * HH * WW}, {H_out * W_out})")
    with nogil:
        for n in range(N):
            for c in range(C):
                for i in range(HH):
                    h_lo = _first_valid(i, pad, stride)
                    h_hi = _end_valid(i, pad, stride, H, H_out)
                    for j in range(WW):
                        k = (c * HH + i) * WW + j
                        lo = _first_valid(j, pad, stride)
                        hi = _end_valid(j, pad, stride, W, W_out)
                        if hi < lo:
                            hi = lo
                        col0 = j - pad
                        if stride == 1 and W_out == W and h_lo < h_hi and lo < hi:
                            _im2col_same_width(&x[n, c, 0, 0], &cols[n, k, 0], H, W,
                                               H_out, h_lo, h_hi, lo, hi,
                                               (i - pad) * W + col0)
                            continue
                        for ho in range(H_out):
                            dst = &cols[n, k, ho * W_out]
                            if ho < h_lo or ho >= h_hi or lo >= hi:
                                for wo in range(W_out):
                                    dst[wo] = 0
                                continue
                            r = ho * stride + i - pad
                            src = &x[n, c, r, 0]
                            for wo in range(lo):
                                dst[wo] = 0
                            if stride == 1:
                                for wo in range(lo, hi):
                                    dst[wo] = src[wo + col0]
                            else:
                                for wo in range(lo, hi):
                                    dst[wo] = src[wo * stride + col0]
                            for wo in range(hi, W_out):
                                dst[wo] = 0


def col2im(const real[:, :, ::1] cols, real[:, :, :, ::1] dx,
           Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad):
    """Overwrite ``dx`` (N, C, H, W) with the sum of the windows in ``cols``."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t H_out = (H + 2 * pad - HH) // stride + 1
    cdef Py_ssize_t W_out = (W + 2 * pad - WW) // stride + 1
    cdef Py_ssize_t n, c, i, j, k, ho, wo, r, lo, hi, h_lo, h_hi, col0
    cdef const real *src
    cdef real *dst
    if cols.shape[0] != N or cols.shape[1] != C * HH * WW or cols.shape[2] != H_out * W_out:
        raise ValueError(f"col2im: cols has shape {tuple(cols.shape)[:3]}, expected "
                         f"({N}, {C * HH * WW}, {H_out * W_out})")
    with nogil:
        for n in range(N):
            for c in range(C):
                dst = &dx[n, c, 0, 0]
                for r in range(H * W):
                    dst[r] = 0
                for i in range(HH):
                    h_lo = _first_valid(i, pad, stride)
                    h_hi = _end_valid(i, pad, stride, H, H_out)
                    for j in range(WW):
                        k = (c * HH + i) * WW + j
                        lo = _first_valid(j, pad, stride)
                        hi = _end_valid(j, pad, stride, W, W_out)
                        col0 = j - pad
                        for ho in range(h_lo, h_hi):
                            r = ho * stride + i - pad
                            src = &cols[n, k, ho * W_out]
                            dst = &dx[n, c, r, 0]
                            if stride == 1:
                                for wo in range(lo, hi):
                                    dst[wo + col0] += src[wo]
                            else:
                                for wo in range(lo, hi):
                                    dst[wo * stride + col0] += src[wo]


def maxpool_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] out,
                    int[:, :, :, ::1] argmax,
                    Py_ssize_t HP, Py_ssize_t WP, Py_ssize_t stride):
    """Fill ``out`` with each window's maximum and ``argmax`` with its position."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = out.shape[2], W_out = out.shape[3]
    cdef Py_ssize_t n, c, ho, wo, a, b, pos, best
    cdef const real *plane
    cdef real m, v
    if (out.shape[0] != N or out.shape[1] != C or argmax.shape[0] != N
            or argmax.shape[1] != C or argmax.shape[2] != H_out
            or argmax.shape[3] != W_out
            or H_out != (H - HP) // stride + 1 or W_out != (W - WP) // stride + 1):
        raise ValueError("maxpool_forward: out/argmax shapes do not match x and the window")
    if H * W > 2147483647:
        raise ValueError("maxpool_forward: an (H, W) plane is too large for int32 indices")
    with nogil:
        for n in range(N):
            for c in range(C):
                plane = &x[n, c, 0, 0]
                if HP == 2 and WP == 2 and stride == 2:
                    for ho in range(H_out):
                        for wo in range(W_out):
                            pos = 2 * ho * W + 2 * wo
                            best = pos
                            m = plane[pos]
                            v = plane[pos + 1]
                            if v > m or (v != v and m == m):
                                m = v
                                best = pos + 1
                            v = plane[pos + W]
                            if v > m or (v != v and m == m):
                                m = v
                                best = pos + W
                            v = plane[pos + W + 1]
                            if v > m or (v != v and m == m):
                                m = v
                                best = pos + W + 1
                            out[n, c, ho, wo] = m
                            argmax[n, c, ho, wo] = <int>best
                    continue
                for ho in range(H_out):
                    for wo in range(W_out):
                        pos = ho * stride * W + wo * stride
                        best = pos
                        m = plane[pos]
                        for a in range(HP):
                            for b in range(WP):
                                v = plane[pos + a * W + b]
                                if v > m or (v != v and m == m):
                                    m = v
                                    best = pos + a * W + b
                        out[n, c, ho, wo] = m
                        argmax[n, c, ho, wo] = <int>best


def maxpool_backward(const real[:, :, :, ::1] dout, const int[:, :, :, ::1] argmax,
                     real[:, :, :, ::1] dx):
    """Overwrite ``dx`` with ``dout`` scattered to the ``argmax`` positions (adding up)."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t H_out = dout.shape[2], W_out = dout.shape[3]
    cdef Py_ssize_t n, c, ho, wo, p
    cdef real *plane
    cdef const real *g
    cdef const int *idx
    cdef int bad = 0
    cdef Py_ssize_t q
    if (dout.shape[0] != N or dout.shape[1] != C or argmax.shape[0] != N
            or argmax.shape[1] != C or argmax.shape[2] != H_out
            or argmax.shape[3] != W_out):
        raise ValueError("maxpool_backward: dout, argmax and dx shapes do not match")
    with nogil:
        for n in range(N):
            for c in range(C):
                plane = &dx[n, c, 0, 0]
                for p in range(H * W):
                    plane[p] = 0
                if H_out == 0 or W_out == 0:
                    continue
                g = &dout[n, c, 0, 0]
                idx = &argmax[n, c, 0, 0]
                for p in range(H_out * W_out):
                    q = idx[p]
                    if q < 0 or q >= H * W:
                        bad = 1
                    else:
                        plane[q] += g[p]
    if bad:
        raise ValueError("maxpool_backward: argmax holds positions outside the "
                         "input plane; pass the cache from max_pool_forward_fast")
