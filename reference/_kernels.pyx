# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled kernels behind :mod:`cnnkit.reference.fast_layers`.

The kernels, each for float32 and float64 (a fused type), are written with typed
memoryviews only (no numpy C headers). Every kernel fills an output array the
caller allocated and releases the GIL while it runs. The pure-numpy module
:mod:`cnnkit.reference._numpy_kernels` has the same functions with the same
contracts; it is the fallback when this extension is not compiled.

Layouts (``K = HH * WW * C``; convolution works in padded channels-last
order so that every window row is one contiguous run of ``WW * C`` values)::

    pad_to_nhwc      x (N, C, H, W) -> xp (N, H + 2*pad, W + 2*pad, C), zero borders
    unpad_from_nhwc  xp -> x, the inverse (the borders are dropped)
    im2col   xp (N, Hp, Wp, C)  ->  cols (N * H_out * W_out, K)
             cols[(n*H_out + ho)*W_out + wo, (i*WW + j)*C + c]
                 = xp[n, ho*stride + i, wo*stride + j, c]
             with H_out = (Hp - HH) // stride + 1, W_out = (Wp - WW) // stride + 1
    im2col_nchw  x (N, C, H, W), unpadded -> cols (N, C*HH*WW, H_out*W_out),
             the channels-first layout, for few channels
    col2im_nchw  cols -> dx (N, C, H, W), the adjoint of im2col_nchw
    col2im   cols -> dxp (N, Hp, Wp, C), the adjoint of im2col
             (overlapping windows add up)
    rows_to_nchw  rows (N*P, F) + bias -> out (N, F, P): the product's rows back
                  to channels-first
    nchw_to_rows  d (N, F, P) -> rows (N*P, F), summing each channel into total
    maxpool_forward   x (N, C, H, W) -> out, argmax (N, C, H_out, W_out)
             argmax holds the flat index r*W + c, inside its (H, W) plane, of
             the FIRST maximum of the window in row-major order (the first NaN
             if the window has one, as numpy's argmax does)
    maxpool_backward  dout, argmax -> dx (N, C, H, W), scatter-add
    bn_forward   x (N, C, P) -> out, batch normalization (and ReLU) per channel
    bn_backward  dout, x -> dx, dgamma, dbeta
    winograd_tiles       x (N, H, W, C) -> V (36, N*th*tw, C), transformed 6x6 tiles
    winograd_untile      M (36, N*th*tw, K) -> y (N, H', W', K), from 4x4 tiles
    winograd_grad_tiles  g (N, H', W', K) -> D (36, N*th*tw, K), transformed 4x4
                         tiles of an output gradient
"""

from libc.math cimport sqrt
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

cdef extern from *:
    """
    /* `restrict` tells the C compiler the arrays do not overlap, so it can
       vectorise these loops (Cython has no way to say so). */
    static inline void cnnkit_add_run_f(float *__restrict dst, const float *__restrict src,
                                        Py_ssize_t n) {
        for (Py_ssize_t t = 0; t < n; t++) dst[t] += src[t];
    }
    static inline void cnnkit_add_run_d(double *__restrict dst, const double *__restrict src,
                                        Py_ssize_t n) {
        for (Py_ssize_t t = 0; t < n; t++) dst[t] += src[t];
    }
    /* dst = src where keep > 0, else 0 (a ReLU's backward pass). Both values
       are computed, so the compiler selects instead of branching on signs. */
    static inline void cnnkit_mask_f(float *__restrict dst, const float *__restrict src,
                                     const float *__restrict keep, Py_ssize_t n) {
        for (Py_ssize_t t = 0; t < n; t++) { float v = src[t]; dst[t] = keep[t] > 0 ? v : 0.0f; }
    }
    static inline void cnnkit_mask_d(double *__restrict dst, const double *__restrict src,
                                     const double *__restrict keep, Py_ssize_t n) {
        for (Py_ssize_t t = 0; t < n; t++) { double v = src[t]; dst[t] = keep[t] > 0 ? v : 0.0; }
    }
    """
    void cnnkit_add_run_f(float *dst, const float *src, Py_ssize_t n) nogil
    void cnnkit_add_run_d(double *dst, const double *src, Py_ssize_t n) nogil
    void cnnkit_mask_f(float *dst, const float *src, const float *keep, Py_ssize_t n) nogil
    void cnnkit_mask_d(double *dst, const double *src, const double *keep, Py_ssize_t n) nogil

ctypedef fused real:
    float
    double


cdef int _check_window(str who, Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride,
                       Py_ssize_t H, Py_ssize_t W) except -1:
    """The public layers validate their inputs; this only keeps direct calls in bounds."""
    if stride < 1 or HH < 1 or WW < 1 or HH > H or WW > W:
        raise ValueError(f"{who}: a {HH}x{WW} window with stride {stride} does not fit "
                         f"a {H}x{W} input")
    return 0


def pad_to_nhwc(const real[:, :, :, ::1] x, real[:, :, :, ::1] xp, Py_ssize_t pad):
    """Fill ``xp`` (N, H + 2*pad, W + 2*pad, C) with ``x`` (N, C, H, W) and zero borders."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t Hp = H + 2 * pad, Wp = W + 2 * pad, n, c, h, v
    cdef real *dst
    if pad < 0:
        raise ValueError(f"pad_to_nhwc: pad must be >= 0, got {pad}")
    if xp.shape[0] != N or xp.shape[1] != Hp or xp.shape[2] != Wp or xp.shape[3] != C:
        raise ValueError(f"pad_to_nhwc: xp has shape {tuple(xp.shape)[:4]}, "
                         f"expected ({N}, {Hp}, {Wp}, {C})")
    with nogil:
        for n in range(N):
            for h in range(Hp):
                dst = &xp[n, h, 0, 0]
                if h < pad or h >= pad + H:
                    for v in range(Wp * C):
                        dst[v] = 0
                    continue
                for v in range(pad * C):
                    dst[v] = 0
                    dst[(pad + W) * C + v] = 0
                dst = &xp[n, h, pad, 0]
                for c in range(C):
                    for v in range(W):
                        dst[v * C + c] = x[n, c, h - pad, v]


def unpad_from_nhwc(const real[:, :, :, ::1] xp, real[:, :, :, ::1] x, Py_ssize_t pad):
    """Fill ``x`` (N, C, H, W) with the inside of ``xp`` (N, H + 2*pad, W + 2*pad, C)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t n, c, h, v
    cdef const real *src
    if pad < 0:
        raise ValueError(f"unpad_from_nhwc: pad must be >= 0, got {pad}")
    if (xp.shape[0] != N or xp.shape[1] != H + 2 * pad or xp.shape[2] != W + 2 * pad
            or xp.shape[3] != C):
        raise ValueError(f"unpad_from_nhwc: xp has shape {tuple(xp.shape)[:4]}, expected "
                         f"({N}, {H + 2 * pad}, {W + 2 * pad}, {C})")
    with nogil:
        for n in range(N):
            for h in range(H):
                src = &xp[n, h + pad, pad, 0]
                for c in range(C):
                    for v in range(W):
                        x[n, c, h, v] = src[v * C + c]


def im2col(const real[:, :, :, ::1] xp, real[:, ::1] cols,
           Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride):
    """Fill ``cols`` (N*H_out*W_out, HH*WW*C) with the windows of padded NHWC ``xp``."""
    cdef Py_ssize_t N = xp.shape[0], Hp = xp.shape[1], Wp = xp.shape[2], C = xp.shape[3]
    _check_window("im2col", HH, WW, stride, Hp, Wp)
    cdef Py_ssize_t H_out = (Hp - HH) // stride + 1
    cdef Py_ssize_t W_out = (Wp - WW) // stride + 1
    cdef Py_ssize_t run = WW * C, n, ho, wo, i, t, row = 0
    cdef const real *src
    cdef real *dst
    if cols.shape[0] != N * H_out * W_out or cols.shape[1] != HH * run:
        raise ValueError(f"im2col: cols has shape {tuple(cols.shape)[:2]}, expected "
                         f"({N * H_out * W_out}, {HH * run})")
    with nogil:
        for n in range(N):
            for ho in range(H_out):
                for wo in range(W_out):
                    dst = &cols[row, 0]
                    for i in range(HH):
                        src = &xp[n, ho * stride + i, wo * stride, 0]
                        memcpy(dst + i * run, src, run * sizeof(real))
                    row += 1


cdef inline void _nchw_run(Py_ssize_t j, Py_ssize_t pad, Py_ssize_t stride, Py_ssize_t W,
                           Py_ssize_t W_out, Py_ssize_t *wo0, Py_ssize_t *wo1) noexcept nogil:
    """The output columns ``[wo0, wo1)`` whose input column ``wo*stride + j - pad`` is in x."""
    cdef Py_ssize_t first = pad - j
    wo0[0] = (first + stride - 1) // stride if first > 0 else 0
    wo1[0] = min((W - 1 + first) // stride + 1 if W - 1 + first >= 0 else 0, W_out)


cdef int _check_nchw_cols(str who, Py_ssize_t N, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
                          tuple cols_shape, Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride,
                          Py_ssize_t pad, Py_ssize_t *H_out, Py_ssize_t *W_out) except -1:
    """Check the window and the channels-first ``cols`` shape; set the output size."""
    if pad < 0:
        raise ValueError(f"{who}: pad must be >= 0, got {pad}")
    _check_window(who, HH, WW, stride, H + 2 * pad, W + 2 * pad)
    H_out[0] = (H + 2 * pad - HH) // stride + 1
    W_out[0] = (W + 2 * pad - WW) // stride + 1
    if cols_shape[:3] != (N, C * HH * WW, H_out[0] * W_out[0]):
        raise ValueError(f"{who}: cols has shape {cols_shape[:3]}, expected "
                         f"({N}, {C * HH * WW}, {H_out[0] * W_out[0]})")
    return 0


def im2col_nchw(const real[:, :, :, ::1] x, real[:, :, ::1] cols,
                Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad):
    """Fill ``cols`` (N, C*HH*WW, H_out*W_out) with the windows of unpadded NCHW ``x``.

    ``cols[n, (c*HH + i)*WW + j, ho*W_out + wo] = x[n, c, ho*stride + i - pad,
    wo*stride + j - pad]``, zero outside ``x``: each row of ``cols`` is built
    from runs of an image row, which suits few channels (channels-last im2col
    would copy runs of only ``WW * C`` values).
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out, W_out
    _check_nchw_cols("im2col_nchw", N, C, H, W, tuple(cols.shape), HH, WW, stride, pad, &H_out, &W_out)
    cdef Py_ssize_t n, c, i, j, ho, h, wo, wo0, wo1
    cdef real *row
    cdef const real *src
    with nogil:
        for n in range(N):
            for c in range(C):
                for i in range(HH):
                    for j in range(WW):
                        _nchw_run(j, pad, stride, W, W_out, &wo0, &wo1)
                        for ho in range(H_out):
                            row = &cols[n, (c * HH + i) * WW + j, ho * W_out]
                            h = ho * stride + i - pad
                            if h < 0 or h >= H or wo1 <= wo0:
                                memset(row, 0, W_out * sizeof(real))
                                continue
                            src = &x[n, c, h, 0]
                            memset(row, 0, wo0 * sizeof(real))
                            if stride == 1:
                                memcpy(row + wo0, src + wo0 - pad + j, (wo1 - wo0) * sizeof(real))
                            else:
                                for wo in range(wo0, wo1):
                                    row[wo] = src[wo * stride + j - pad]
                            memset(row + wo1, 0, (W_out - wo1) * sizeof(real))


def col2im_nchw(const real[:, :, ::1] cols, real[:, :, :, ::1] dx,
                Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride, Py_ssize_t pad):
    """Overwrite unpadded NCHW ``dx`` (N, C, H, W) with the sum of the windows in ``cols``.

    The adjoint of :func:`im2col_nchw`: every ``cols`` value is added to the
    ``dx`` position it was copied from (values that fell on padding are dropped).
    """
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t H_out, W_out
    _check_nchw_cols("col2im_nchw", N, C, H, W, tuple(cols.shape), HH, WW, stride, pad, &H_out, &W_out)
    cdef Py_ssize_t n, c, i, j, ho, h, wo, wo0, wo1
    cdef const real *row
    cdef real *dst
    with nogil:
        for n in range(N):
            memset(&dx[n, 0, 0, 0], 0, C * H * W * sizeof(real))
            for c in range(C):
                for i in range(HH):
                    for j in range(WW):
                        _nchw_run(j, pad, stride, W, W_out, &wo0, &wo1)
                        if wo1 <= wo0:
                            continue
                        for ho in range(H_out):
                            h = ho * stride + i - pad
                            if h < 0 or h >= H:
                                continue
                            row = &cols[n, (c * HH + i) * WW + j, ho * W_out]
                            dst = &dx[n, c, h, 0]
                            if stride == 1:
                                if real is float:
                                    cnnkit_add_run_f(dst + wo0 - pad + j, row + wo0, wo1 - wo0)
                                else:
                                    cnnkit_add_run_d(dst + wo0 - pad + j, row + wo0, wo1 - wo0)
                            else:
                                for wo in range(wo0, wo1):
                                    dst[wo * stride + j - pad] += row[wo]


def col2im(const real[:, ::1] cols, real[:, :, :, ::1] dxp,
           Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t stride):
    """Overwrite padded NHWC ``dxp`` with the sum of the windows in ``cols``."""
    cdef Py_ssize_t N = dxp.shape[0], Hp = dxp.shape[1], Wp = dxp.shape[2], C = dxp.shape[3]
    _check_window("col2im", HH, WW, stride, Hp, Wp)
    cdef Py_ssize_t H_out = (Hp - HH) // stride + 1
    cdef Py_ssize_t W_out = (Wp - WW) // stride + 1
    cdef Py_ssize_t run = WW * C, n, ho, wo, i, row = 0
    cdef const real *src
    cdef real *dst
    if cols.shape[0] != N * H_out * W_out or cols.shape[1] != HH * run:
        raise ValueError(f"col2im: cols has shape {tuple(cols.shape)[:2]}, expected "
                         f"({N * H_out * W_out}, {HH * run})")
    with nogil:
        for n in range(N):
            memset(&dxp[n, 0, 0, 0], 0, Hp * Wp * C * sizeof(real))
            for ho in range(H_out):
                for wo in range(W_out):
                    src = &cols[row, 0]
                    for i in range(HH):
                        dst = &dxp[n, ho * stride + i, wo * stride, 0]
                        if real is float:
                            cnnkit_add_run_f(dst, src + i * run, run)
                        else:
                            cnnkit_add_run_d(dst, src + i * run, run)
                    row += 1


cdef enum:
    TILE = 32           # the fastest measured on (images*P, F) = (9*1024, 32) and (3*256, 64)


cdef inline void _transpose_add(const real *src, real *dst, Py_ssize_t R, Py_ssize_t S,
                                const real *shift) noexcept nogil:
    """``dst[s*R + r] = src[r*S + s] + shift[s]`` for an R x S ``src``.

    It copies TILE x TILE blocks, so that both ``src`` rows and ``dst`` rows
    are read and written a few cache lines at a time (walking one ``dst`` row
    at a time would stride through all of ``src``).
    """
    cdef Py_ssize_t r0 = 0, r1, s0, s1, r, s
    cdef real add
    while r0 < R:
        r1 = min(R, r0 + TILE)
        s0 = 0
        while s0 < S:
            s1 = min(S, s0 + TILE)
            for s in range(s0, s1):
                add = shift[s]
                for r in range(r0, r1):
                    dst[s * R + r] = src[r * S + s] + add
            s0 = s1
        r0 = r1


def rows_to_nchw(const real[:, ::1] rows, real[:, :, ::1] out, const real[::1] bias):
    """``out[n, f, p] = rows[n*P + p, f] + bias[f]`` for out (N, F, P), rows (N*P, F)."""
    cdef Py_ssize_t N = out.shape[0], F = out.shape[1], P = out.shape[2], n
    if rows.shape[0] != N * P or rows.shape[1] != F or bias.shape[0] != F:
        raise ValueError("rows_to_nchw: rows, out and bias shapes do not match")
    if N * P * F == 0:
        return
    with nogil:
        for n in range(N):
            _transpose_add(&rows[n * P, 0], &out[n, 0, 0], P, F, &bias[0])


def nchw_to_rows(const real[:, :, ::1] d, real[:, ::1] rows, double[::1] total):
    """``rows[n*P + p, f] = d[n, f, p]``, and add each ``d[:, f, :]``'s sum to ``total[f]``."""
    cdef Py_ssize_t N = d.shape[0], F = d.shape[1], P = d.shape[2], n, f, f0, p
    cdef const real *src
    cdef real *dst
    cdef real v0, v1, v2, v3, v4, v5, v6, v7
    cdef double a0, a1, a2, a3, a4, a5, a6, a7
    if rows.shape[0] != N * P or rows.shape[1] != F or total.shape[0] != F:
        raise ValueError("nchw_to_rows: d, rows and total shapes do not match")
    if N * F * P == 0:
        return
    with nogil:
        for n in range(N):
            src = &d[n, 0, 0]
            dst = &rows[n * P, 0]
            # Eight channels at a time: eight sequential reads, one 8-value
            # write per row, and eight running sums (one read of d, no add chain).
            f0 = 0
            while f0 + 8 <= F:
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0
                for p in range(P):
                    v0 = src[f0 * P + p]
                    v1 = src[(f0 + 1) * P + p]
                    v2 = src[(f0 + 2) * P + p]
                    v3 = src[(f0 + 3) * P + p]
                    v4 = src[(f0 + 4) * P + p]
                    v5 = src[(f0 + 5) * P + p]
                    v6 = src[(f0 + 6) * P + p]
                    v7 = src[(f0 + 7) * P + p]
                    dst[p * F + f0] = v0
                    dst[p * F + f0 + 1] = v1
                    dst[p * F + f0 + 2] = v2
                    dst[p * F + f0 + 3] = v3
                    dst[p * F + f0 + 4] = v4
                    dst[p * F + f0 + 5] = v5
                    dst[p * F + f0 + 6] = v6
                    dst[p * F + f0 + 7] = v7
                    a0 = a0 + v0
                    a1 = a1 + v1
                    a2 = a2 + v2
                    a3 = a3 + v3
                    a4 = a4 + v4
                    a5 = a5 + v5
                    a6 = a6 + v6
                    a7 = a7 + v7
                total[f0] += a0
                total[f0 + 1] += a1
                total[f0 + 2] += a2
                total[f0 + 3] += a3
                total[f0 + 4] += a4
                total[f0 + 5] += a5
                total[f0 + 6] += a6
                total[f0 + 7] += a7
                f0 = f0 + 8
            for f in range(f0, F):
                a0 = 0
                for p in range(P):
                    v0 = src[f * P + p]
                    dst[p * F + f] = v0
                    a0 = a0 + v0
                total[f] += a0


# ------------------------------------------------------------ Winograd F(4x4, 3x3)
# A 3x3, stride-1 convolution computed on 6x6 input tiles that overlap by two
# (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):
# out_tile (4x4) = A^T [(G w G^T) * (B^T d B)] A, with 36 products per tile in
# place of 144. The 36 tile positions e = 6*a + b are the first axis of every
# transformed array, (36, tiles, channels), so the products are 36 matrix
# products over channels. Everything is channels-last, and each transform
# works on whole runs of channels, which vectorise.

cdef extern from *:
    """
    /* The one-dimensional Winograd F(4, 3) transforms, applied to runs of n
       channels: o_k[c] = sum_r X[k][r] i_r[c]. `restrict` lets the compiler
       vectorise them.
         B^T (input tiles, 6 -> 6), A^T (output tiles, 6 -> 4) and
         A (tiles of the output gradient, 4 -> 6). */
    #define CNNKIT_WINOGRAD(T, S)                                                             \
    static inline void cnnkit_bt6_##S(const T *__restrict i0, const T *__restrict i1,         \
            const T *__restrict i2, const T *__restrict i3, const T *__restrict i4,           \
            const T *__restrict i5, T *__restrict o0, T *__restrict o1, T *__restrict o2,     \
            T *__restrict o3, T *__restrict o4, T *__restrict o5, Py_ssize_t n) {             \
        for (Py_ssize_t c = 0; c < n; c++) {                                                  \
            T a1 = i1[c], a2 = i2[c], a3 = i3[c], a4 = i4[c];                                 \
            o0[c] = 4 * i0[c] - 5 * a2 + a4;                                                  \
            o1[c] = -4 * (a1 + a2) + a3 + a4;                                                 \
            o2[c] = 4 * (a1 - a2) - a3 + a4;                                                  \
            o3[c] = 2 * (a3 - a1) - a2 + a4;                                                  \
            o4[c] = 2 * (a1 - a3) - a2 + a4;                                                  \
            o5[c] = 4 * a1 - 5 * a3 + i5[c];                                                  \
        }                                                                                     \
    }                                                                                         \
    static inline void cnnkit_at6_##S(const T *__restrict i0, const T *__restrict i1,         \
            const T *__restrict i2, const T *__restrict i3, const T *__restrict i4,           \
            const T *__restrict i5, T *__restrict o0, T *__restrict o1, T *__restrict o2,     \
            T *__restrict o3, Py_ssize_t n) {                                                 \
        for (Py_ssize_t c = 0; c < n; c++) {                                                  \
            T p = i1[c] + i2[c], q = i1[c] - i2[c], r = i3[c] + i4[c], s = i3[c] - i4[c];     \
            o0[c] = i0[c] + p + r;                                                            \
            o1[c] = q + 2 * s;                                                                \
            o2[c] = p + 4 * r;                                                                \
            o3[c] = q + 8 * s + i5[c];                                                        \
        }                                                                                     \
    }                                                                                         \
    static inline void cnnkit_a4_##S(const T *__restrict i0, const T *__restrict i1,          \
            const T *__restrict i2, const T *__restrict i3, T *__restrict o0,                 \
            T *__restrict o1, T *__restrict o2, T *__restrict o3, T *__restrict o4,           \
            T *__restrict o5, Py_ssize_t n) {                                                 \
        for (Py_ssize_t c = 0; c < n; c++) {                                                  \
            T a0 = i0[c], a1 = i1[c], a2 = i2[c], a3 = i3[c];                                 \
            T p = a0 + a2, q = a1 + a3, r = a0 + 4 * a2, s = 2 * a1 + 8 * a3;                 \
            o0[c] = a0;                                                                       \
            o1[c] = p + q;                                                                    \
            o2[c] = p - q;                                                                    \
            o3[c] = r + s;                                                                    \
            o4[c] = r - s;                                                                    \
            o5[c] = a3;                                                                       \
        }                                                                                     \
    }
    CNNKIT_WINOGRAD(float, f)
    CNNKIT_WINOGRAD(double, d)
    """
    void cnnkit_bt6_f(const float *i0, const float *i1, const float *i2, const float *i3,
                      const float *i4, const float *i5, float *o0, float *o1, float *o2,
                      float *o3, float *o4, float *o5, Py_ssize_t n) nogil
    void cnnkit_bt6_d(const double *i0, const double *i1, const double *i2, const double *i3,
                      const double *i4, const double *i5, double *o0, double *o1, double *o2,
                      double *o3, double *o4, double *o5, Py_ssize_t n) nogil
    void cnnkit_at6_f(const float *i0, const float *i1, const float *i2, const float *i3,
                      const float *i4, const float *i5, float *o0, float *o1, float *o2,
                      float *o3, Py_ssize_t n) nogil
    void cnnkit_at6_d(const double *i0, const double *i1, const double *i2, const double *i3,
                      const double *i4, const double *i5, double *o0, double *o1, double *o2,
                      double *o3, Py_ssize_t n) nogil
    void cnnkit_a4_f(const float *i0, const float *i1, const float *i2, const float *i3,
                     float *o0, float *o1, float *o2, float *o3, float *o4, float *o5,
                     Py_ssize_t n) nogil
    void cnnkit_a4_d(const double *i0, const double *i1, const double *i2, const double *i3,
                     double *o0, double *o1, double *o2, double *o3, double *o4, double *o5,
                     Py_ssize_t n) nogil


cdef enum:
    # the one-dimensional transforms: B^T (6 -> 6), A^T (6 -> 4), A (4 -> 6)
    B_T6 = 0
    A_T6 = 1
    A_4 = 2


cdef inline void _transform(int kind, const real **d, real **o, Py_ssize_t n) noexcept nogil:
    if kind == B_T6:
        if real is float:
            cnnkit_bt6_f(d[0], d[1], d[2], d[3], d[4], d[5], o[0], o[1], o[2], o[3], o[4], o[5], n)
        else:
            cnnkit_bt6_d(d[0], d[1], d[2], d[3], d[4], d[5], o[0], o[1], o[2], o[3], o[4], o[5], n)
    elif kind == A_T6:
        if real is float:
            cnnkit_at6_f(d[0], d[1], d[2], d[3], d[4], d[5], o[0], o[1], o[2], o[3], n)
        else:
            cnnkit_at6_d(d[0], d[1], d[2], d[3], d[4], d[5], o[0], o[1], o[2], o[3], n)
    else:
        if real is float:
            cnnkit_a4_f(d[0], d[1], d[2], d[3], o[0], o[1], o[2], o[3], o[4], o[5], n)
        else:
            cnnkit_a4_d(d[0], d[1], d[2], d[3], o[0], o[1], o[2], o[3], o[4], o[5], n)


cdef inline void _tile_transform(int kind, const real **tile, real **result, real *buf,
                                 Py_ssize_t n) noexcept nogil:
    """``X t X^T`` of one r x r tile of channel runs into an m x m one (X is m x r).

    ``tile[i*r + j]`` points at the n channels of tile position (i, j),
    ``result[k*m + l]`` at where those of result position (k, l) go; ``buf``
    holds the m*r runs of ``X t`` in between.
    """
    cdef Py_ssize_t r = 4 if kind == A_4 else 6, m = 4 if kind == A_T6 else 6, i, j, k
    cdef const real *d[6]
    cdef real *o[6]
    for j in range(r):                      # X down tile column j -> buf[k*r + j]
        for i in range(r):
            d[i] = tile[i * r + j]
        for k in range(m):
            o[k] = buf + (k * r + j) * n
        _transform(kind, d, o, n)
    for k in range(m):                      # then along each row
        for j in range(r):
            d[j] = buf + (k * r + j) * n
        for j in range(m):
            o[j] = result[k * m + j]
        _transform(kind, d, o, n)


cdef int _check_tiles(str who, Py_ssize_t tiles, Py_ssize_t C, tuple shape, tuple strides,
                      Py_ssize_t itemsize) except -1:
    """Tile arrays are (36, tiles, C) with contiguous (tiles, C) planes, which may lie
    any distance apart (the caller spaces them so they do not share cache sets)."""
    if shape[:3] != (36, tiles, C):
        raise ValueError(f"{who}: the tile array has shape {shape[:3]}, expected "
                         f"(36, {tiles}, {C})")
    if ((C > 1 and strides[2] != itemsize) or (tiles > 1 and strides[1] != C * itemsize)
            or strides[0] <= 0):
        raise ValueError(f"{who}: each plane of the tile array must be C-contiguous")
    return 0


def winograd_tiles(const real[:, :, :, ::1] x, real[:, :, :] V,
                   Py_ssize_t th, Py_ssize_t tw, Py_ssize_t pad):
    """Fill ``V`` (36, N*th*tw, C) with ``B^T d B`` of every 6x6 tile ``d`` of ``x``.

    ``x`` is channels-last (N, H, W, C), unpadded; tile (ty, tx) of image n
    (row ``(n*th + ty)*tw + tx`` of each plane of ``V``) covers rows
    ``4*ty - pad ..+5`` and columns ``4*tx - pad ..+5`` of ``x``, zero outside it.
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    if pad < 0 or th < 1 or tw < 1:
        raise ValueError(f"winograd_tiles: pad must be >= 0 and the tile grid at least "
                         f"1x1, got pad {pad} and {th}x{tw} tiles")
    _check_tiles("winograd_tiles", N * th * tw, C, tuple(V.shape), tuple(V.strides), sizeof(real))
    if N * C == 0:
        return
    cdef real *buf = <real *> calloc(37 * C, sizeof(real))    # 36 runs of B^T d, zeros
    if buf == NULL:
        raise MemoryError()
    cdef real *zero = buf + 36 * C
    cdef const real *tile[36]
    cdef real *result[36]
    cdef Py_ssize_t es = V.strides[0] // sizeof(real), n, ty, tx, p, h, col, i, j
    with nogil:
        for n in range(N):
            for ty in range(th):
                for tx in range(tw):
                    p = (n * th + ty) * tw + tx
                    for i in range(6):
                        h = 4 * ty + i - pad
                        for j in range(6):
                            col = 4 * tx + j - pad
                            tile[i * 6 + j] = (&x[n, h, col, 0] if 0 <= h < H and 0 <= col < W
                                               else zero)
                    for i in range(36):
                        result[i] = &V[0, p, 0] + i * es
                    _tile_transform(B_T6, tile, result, buf, C)
    free(buf)


def winograd_untile(const real[:, :, :] M, real[:, :, :, ::1] y, Py_ssize_t th, Py_ssize_t tw):
    """Fill channels-last ``y`` (N, H', W', K) with ``A^T m A`` of every tile ``m`` of ``M``.

    ``M`` is (36, N*th*tw, K) in :func:`winograd_tiles`' row order; tile
    (ty, tx) gives ``y[n, 4*ty:4*ty+4, 4*tx:4*tx+4]``, cut at the edges.
    """
    cdef Py_ssize_t N = y.shape[0], Ho = y.shape[1], Wo = y.shape[2], K = y.shape[3]
    if th != (Ho + 3) // 4 or tw != (Wo + 3) // 4:
        raise ValueError(f"winograd_untile: {th}x{tw} tiles do not cover a {Ho}x{Wo} output")
    _check_tiles("winograd_untile", N * th * tw, K, tuple(M.shape), tuple(M.strides), sizeof(real))
    if N * K * Ho * Wo == 0:
        return
    cdef real *buf = <real *> malloc(28 * K * sizeof(real))  # 24 runs of A^T m, 4 to discard
    if buf == NULL:
        raise MemoryError()
    cdef real *spill = buf + 24 * K
    cdef const real *tile[36]
    cdef real *result[16]
    cdef Py_ssize_t es = M.strides[0] // sizeof(real), n, ty, tx, p, h, col, i, j
    with nogil:
        for n in range(N):
            for ty in range(th):
                for tx in range(tw):
                    p = (n * th + ty) * tw + tx
                    for i in range(36):
                        tile[i] = &M[0, p, 0] + i * es
                    for i in range(4):
                        h = 4 * ty + i
                        for j in range(4):
                            col = 4 * tx + j
                            result[i * 4 + j] = (&y[n, h, col, 0] if h < Ho and col < Wo
                                                 else spill + j * K)
                    _tile_transform(A_T6, tile, result, buf, K)
    free(buf)


def winograd_grad_tiles(const real[:, :, :, ::1] g, real[:, :, :] D):
    """Fill ``D`` (36, N*th*tw, K) with ``A t A^T`` of every 4x4 tile ``t`` of ``g``.

    ``g`` is a channels-last output gradient (N, H', W', K), cut in 4x4 tiles,
    zero past its edges, in :func:`winograd_tiles`' row order (``th =
    ceil(H'/4)``, ``tw = ceil(W'/4)``). With the input tiles ``V`` of the
    forward pass, the filter gradient is ``G^T (sum over tiles of V * D) G``.
    """
    cdef Py_ssize_t N = g.shape[0], Ho = g.shape[1], Wo = g.shape[2], K = g.shape[3]
    cdef Py_ssize_t th = (Ho + 3) // 4, tw = (Wo + 3) // 4
    _check_tiles("winograd_grad_tiles", N * th * tw, K, tuple(D.shape), tuple(D.strides),
                 sizeof(real))
    if N * K * Ho * Wo == 0:
        return
    cdef real *buf = <real *> calloc(25 * K, sizeof(real))    # 24 runs of A t, zeros
    if buf == NULL:
        raise MemoryError()
    cdef real *zero = buf + 24 * K
    cdef const real *tile[16]
    cdef real *result[36]
    cdef Py_ssize_t es = D.strides[0] // sizeof(real), n, ty, tx, p, h, col, i, j
    with nogil:
        for n in range(N):
            for ty in range(th):
                for tx in range(tw):
                    p = (n * th + ty) * tw + tx
                    for i in range(4):
                        h = 4 * ty + i
                        for j in range(4):
                            col = 4 * tx + j
                            tile[i * 4 + j] = &g[n, h, col, 0] if h < Ho and col < Wo else zero
                    for i in range(36):
                        result[i] = &D[0, p, 0] + i * es
                    _tile_transform(A_4, tile, result, buf, K)
    free(buf)


cdef inline Py_ssize_t _first_nan(const real *plane, Py_ssize_t pos, Py_ssize_t W,
                                  Py_ssize_t HP, Py_ssize_t WP) noexcept nogil:
    """Flat index of the first NaN in the window at ``pos`` (row-major order)."""
    cdef Py_ssize_t a, b
    for a in range(HP):
        for b in range(WP):
            if plane[pos + a * W + b] != plane[pos + a * W + b]:
                return pos + a * W + b
    return pos


def maxpool_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] out,
                    int[:, :, :, ::1] argmax,
                    Py_ssize_t HP, Py_ssize_t WP, Py_ssize_t stride):
    """Fill ``out`` with each window's maximum and ``argmax`` with its position."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = out.shape[2], W_out = out.shape[3]
    cdef Py_ssize_t n, c, ho, wo, a, b, pos, best
    cdef const real *plane
    cdef real m, v
    cdef int nan
    _check_window("maxpool_forward", HP, WP, stride, H, W)
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
                            nan = m != m
                            v = plane[pos + 1]
                            nan |= v != v
                            best = pos + 1 if v > m else best
                            m = v if v > m else m
                            v = plane[pos + W]
                            nan |= v != v
                            best = pos + W if v > m else best
                            m = v if v > m else m
                            v = plane[pos + W + 1]
                            nan |= v != v
                            best = pos + W + 1 if v > m else best
                            m = v if v > m else m
                            if nan:
                                best = _first_nan(plane, pos, W, 2, 2)
                                m = plane[best]
                            out[n, c, ho, wo] = m
                            argmax[n, c, ho, wo] = <int>best
                    continue
                for ho in range(H_out):
                    for wo in range(W_out):
                        pos = ho * stride * W + wo * stride
                        best = pos
                        m = plane[pos]
                        nan = m != m
                        for a in range(HP):
                            for b in range(WP):
                                # strictly greater keeps the first maximum
                                v = plane[pos + a * W + b]
                                nan |= v != v
                                best = pos + a * W + b if v > m else best
                                m = v if v > m else m
                        if nan:             # like np.argmax: the first NaN wins
                            best = _first_nan(plane, pos, W, HP, WP)
                            m = plane[best]
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


cdef int _check_rows(str who, Py_ssize_t stride, Py_ssize_t itemsize) except -1:
    if stride != itemsize:
        raise ValueError(f"{who}: the last axis must be contiguous")
    return 0


def bn_forward(const real[:, :, :] x, double[::1] mean, double[::1] var, double[::1] inv_std,
               const double[::1] gamma, const double[::1] beta, double eps, bint train,
               bint relu, real[:, :, :] out):
    """Batch normalization of x (N, C, P), one channel at a time.

    In train mode, first the channel's mean and biased variance (accumulated
    in double) into ``mean`` and ``var``; in test mode these are given. Then
    ``inv_std = 1 / sqrt(var + eps)`` and ``out = gamma * (x - mean) * inv_std
    + beta``, or its ReLU ``max(., 0)`` with ``relu``. Walking one channel at a
    time keeps its values in cache from the first pass to the last, so ``x``
    is read from memory once.

    The batch-norm kernels take (N, C, P) views whose last axis is contiguous,
    such as a range of channels, so that each worker thread can own some.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = x.shape[2], n, c, p
    cdef double a0, a1, a2, a3, mu, d0, d1, d2, d3, count = <double>(N * P)
    cdef real m, s, g, b, o
    cdef const real *row
    cdef real *dst
    if mean.shape[0] != C or var.shape[0] != C or inv_std.shape[0] != C:
        raise ValueError("bn_forward: mean, var and inv_std must have one entry per channel")
    _check_rows("bn_forward", x.strides[2], sizeof(real))
    _check_rows("bn_forward", out.strides[2], sizeof(real))
    with nogil:
        for c in range(C):
            if train:
                a0 = a1 = a2 = a3 = 0       # four partial sums hide the add latency
                for n in range(N):
                    row = &x[n, c, 0]
                    p = 0
                    while p + 4 <= P:
                        a0 = a0 + row[p]
                        a1 = a1 + row[p + 1]
                        a2 = a2 + row[p + 2]
                        a3 = a3 + row[p + 3]
                        p = p + 4
                    while p < P:
                        a0 = a0 + row[p]
                        p = p + 1
                mu = ((a0 + a1) + (a2 + a3)) / count
                a0 = a1 = a2 = a3 = 0
                for n in range(N):
                    row = &x[n, c, 0]
                    p = 0
                    while p + 4 <= P:
                        d0 = row[p] - mu
                        d1 = row[p + 1] - mu
                        d2 = row[p + 2] - mu
                        d3 = row[p + 3] - mu
                        a0 = a0 + d0 * d0
                        a1 = a1 + d1 * d1
                        a2 = a2 + d2 * d2
                        a3 = a3 + d3 * d3
                        p = p + 4
                    while p < P:
                        d0 = row[p] - mu
                        a0 = a0 + d0 * d0
                        p = p + 1
                mean[c] = mu
                var[c] = ((a0 + a1) + (a2 + a3)) / count
            inv_std[c] = 1.0 / sqrt(var[c] + eps)
            m, s, g, b = <real>mean[c], <real>inv_std[c], <real>gamma[c], <real>beta[c]
            for n in range(N):
                row = &x[n, c, 0]
                dst = &out[n, c, 0]
                if relu:
                    for p in range(P):
                        o = g * ((row[p] - m) * s) + b
                        dst[p] = o if o > 0 else 0
                else:
                    for p in range(P):
                        dst[p] = g * ((row[p] - m) * s) + b


def bn_backward(const real[:, :, :] dout, const real[:, :, :] x, const double[::1] mean,
                const double[::1] inv_std, const double[::1] gamma, bint train,
                real[:, :, :] dx, double[::1] dgamma, double[::1] dbeta,
                const real[:, :, :] relu_out=None):
    """Batch-norm gradients per channel of (N, C, P) arrays.

    With ``x_hat = (x - mean) * inv_std`` recomputed as :func:`bn_forward`
    computed it: ``dbeta = sum(dout)``, ``dgamma = sum(dout * x_hat)`` and, in
    train mode, ``dx = gamma*inv_std * (dout - dbeta/M - x_hat*dgamma/M)`` with
    ``M = N*P`` (in test mode ``dx = gamma*inv_std * dout``). Given
    ``relu_out``, the output of :func:`bn_forward` with ``relu``, ``dout`` is
    first zeroed where ``relu_out`` is not positive (the ReLU's backward pass).
    """
    cdef Py_ssize_t N = dout.shape[0], C = dout.shape[1], P = dout.shape[2], n, c, p
    cdef double sd, sdx, s0, s1, t0, t1, count = <double>(N * P)
    cdef real k, shift, slope, m, s, h0, h1
    cdef const real *d
    cdef const real *xr
    cdef const real *r
    cdef real *g
    cdef bint relu = relu_out is not None
    _check_rows("bn_backward", dout.strides[2], sizeof(real))
    _check_rows("bn_backward", x.strides[2], sizeof(real))
    _check_rows("bn_backward", dx.strides[2], sizeof(real))
    if relu:
        _check_rows("bn_backward", relu_out.strides[2], sizeof(real))
        if (relu_out.shape[0] != N or relu_out.shape[1] != C or relu_out.shape[2] != P):
            raise ValueError("bn_backward: relu_out must have the shape of dout")
    with nogil:
        for c in range(C):
            m, s = <real>mean[c], <real>inv_std[c]
            s0 = s1 = t0 = t1 = 0           # two partial sums each hide the add latency
            for n in range(N):
                d = &dout[n, c, 0]
                xr = &x[n, c, 0]
                if relu:                    # mask into dx first: simple loops vectorise
                    r = &relu_out[n, c, 0]
                    g = &dx[n, c, 0]
                    if real is float:
                        cnnkit_mask_f(g, d, r, P)
                    else:
                        cnnkit_mask_d(g, d, r, P)
                    d = g
                p = 0
                while p + 2 <= P:
                    h0 = (xr[p] - m) * s
                    h1 = (xr[p + 1] - m) * s
                    s0 = s0 + d[p]
                    s1 = s1 + d[p + 1]
                    t0 = t0 + d[p] * h0
                    t1 = t1 + d[p + 1] * h1
                    p = p + 2
                if p < P:
                    h0 = (xr[p] - m) * s
                    s0 = s0 + d[p]
                    t0 = t0 + d[p] * h0
            sd = s0 + s1
            sdx = t0 + t1
            dbeta[c] = sd
            dgamma[c] = sdx
            k = <real>(gamma[c] * inv_std[c])
            shift = <real>(gamma[c] * inv_std[c] * sd / count) if train else 0
            slope = <real>(gamma[c] * inv_std[c] * sdx / count) if train else 0
            for n in range(N):
                d = &dx[n, c, 0] if relu else &dout[n, c, 0]
                xr = &x[n, c, 0]
                g = &dx[n, c, 0]
                for p in range(P):
                    g[p] = k * d[p] - shift - slope * ((xr[p] - m) * s)
