"""A small class for the copy-detection tests: honest students and two planted copies.

Every honest student wrote the four naive layers of ``nndl/conv_layers.py`` in their own way,
as students do: loop order, slicing or explicit indices, helper functions, vectorising over
the batch, while loops; some are wrong. ``grace`` copied ``alice`` verbatim; ``heidi`` copied
``bob`` and renamed every variable, reordered the functions and rewrote the comments.
Everything else in a student's folder is the release as the grader builds it.
"""
import ast
import shutil
import textwrap
from pathlib import Path

ALICE = '''
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Hout = 1 + (H + 2 * pad - HH) // stride
    Wout = 1 + (W + 2 * pad - WW) // stride
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    out = np.zeros((N, F, Hout, Wout))
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    # receptive field of output (i, j)
                    patch = xp[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Hout, Wout = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode='constant')
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    patch = xp[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW]
                    dw[f] += dout[n, f, i, j] * patch
                    dxp[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, pad:pad+H, pad:pad+W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    Hout = 1 + (H - ph) // stride
    Wout = 1 + (W - pw) // stride
    out = np.zeros((N, C, Hout, Wout))
    for n in range(N):
        for c in range(C):
            for i in range(Hout):
                for j in range(Wout):
                    out[n, c, i, j] = np.max(x[n, c, i*stride:i*stride+ph, j*stride:j*stride+pw])
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    N, C, Hout, Wout = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Hout):
                for j in range(Wout):
                    window = x[n, c, i*stride:i*stride+ph, j*stride:j*stride+pw]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i*stride+r, j*stride+s] += dout[n, c, i, j]
    return dx
'''

BOB = '''
def conv_forward_naive(x, w, b, conv_param):
    s = conv_param['stride']
    p = conv_param['pad']
    num, chans, height, width = x.shape
    nfilt, _, fh, fw = w.shape
    oh = (height + 2 * p - fh) // s + 1
    ow = (width + 2 * p - fw) // s + 1
    out = np.zeros((num, nfilt, oh, ow))
    # no np.pad: positions outside the image are skipped (they would be zeros anyway)
    for f in range(nfilt):
        for n in range(num):
            for r in range(oh):
                for q in range(ow):
                    total = b[f]
                    for c in range(chans):
                        for u in range(fh):
                            for v in range(fw):
                                row = r * s + u - p
                                col = q * s + v - p
                                if 0 <= row < height and 0 <= col < width:
                                    total += x[n, c, row, col] * w[f, c, u, v]
                    out[n, f, r, q] = total
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    s = conv_param['stride']
    p = conv_param['pad']
    num, chans, height, width = x.shape
    nfilt, _, fh, fw = w.shape
    oh, ow = dout.shape[2], dout.shape[3]
    dx = np.zeros(x.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(b.shape)
    for f in range(nfilt):
        for n in range(num):
            for r in range(oh):
                for q in range(ow):
                    g = dout[n, f, r, q]
                    db[f] += g
                    for c in range(chans):
                        for u in range(fh):
                            for v in range(fw):
                                row = r * s + u - p
                                col = q * s + v - p
                                # the padding has no gradient to receive
                                if 0 <= row < height and 0 <= col < width:
                                    dw[f, c, u, v] += g * x[n, c, row, col]
                                    dx[n, c, row, col] += g * w[f, c, u, v]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    num, chans, height, width = x.shape
    oh = (height - ph) // stride + 1
    ow = (width - pw) // stride + 1
    out = np.empty((num, chans, oh, ow))
    for n in range(num):
        for c in range(chans):
            for r in range(oh):
                for q in range(ow):
                    best = -np.inf
                    for u in range(ph):
                        for v in range(pw):
                            val = x[n, c, r * stride + u, q * stride + v]
                            if val > best:
                                best = val
                    out[n, c, r, q] = best
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw = pool_param['pool_height'], pool_param['pool_width']
    stride = pool_param['stride']
    num, chans, oh, ow = dout.shape
    dx = np.zeros(x.shape)
    for n in range(num):
        for c in range(chans):
            for r in range(oh):
                for q in range(ow):
                    best, bu, bv = -np.inf, 0, 0
                    for u in range(ph):
                        for v in range(pw):
                            val = x[n, c, r * stride + u, q * stride + v]
                            if val > best:
                                best, bu, bv = val, u, v
                    dx[n, c, r * stride + bu, q * stride + bv] += dout[n, c, r, q]
    return dx
'''

CAROL = '''
def _out_size(size, window, pad, stride):
    return (size + 2 * pad - window) // stride + 1


def _zero_pad(x, pad):
    N, C, H, W = x.shape
    padded = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    padded[:, :, pad:pad + H, pad:pad + W] = x
    return padded


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    F, C, HH, WW = w.shape
    Ho = _out_size(x.shape[2], HH, pad, stride)
    Wo = _out_size(x.shape[3], WW, pad, stride)
    xpad = _zero_pad(x, pad)
    out = np.zeros((x.shape[0], F, Ho, Wo))
    # the whole batch at once for each output position
    for i in range(Ho):
        for j in range(Wo):
            region = xpad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(region, w, axes=([1, 2, 3], [1, 2, 3])) + b
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param['stride'], conv_param['pad']
    F, C, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xpad = _zero_pad(x, pad)
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    for i in range(Ho):
        for j in range(Wo):
            rows = slice(i * stride, i * stride + HH)
            cols = slice(j * stride, j * stride + WW)
            g = dout[:, :, i, j]                       # (N, F)
            dw += np.tensordot(g, xpad[:, :, rows, cols], axes=([0], [0]))
            dxpad[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    db = dout.sum(axis=(0, 2, 3))
    dx = dxpad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


def _pool_windows(pool_param, out_h, out_w):
    ph, pw, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    for i in range(out_h):
        for j in range(out_w):
            yield i, j, slice(i * stride, i * stride + ph), slice(j * stride, j * stride + pw)


def max_pool_forward_naive(x, pool_param):
    Ho = _out_size(x.shape[2], pool_param['pool_height'], 0, pool_param['stride'])
    Wo = _out_size(x.shape[3], pool_param['pool_width'], 0, pool_param['stride'])
    out = np.zeros(x.shape[:2] + (Ho, Wo))
    for i, j, rows, cols in _pool_windows(pool_param, Ho, Wo):
        out[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    dx = np.zeros_like(x)
    N, C, Ho, Wo = dout.shape
    for i, j, rows, cols in _pool_windows(pool_param, Ho, Wo):
        block = x[:, :, rows, cols]
        flat = block.reshape(N, C, -1)
        first = flat.argmax(axis=2)                     # first maximum in row-major order
        mask = np.zeros_like(flat)
        np.put_along_axis(mask, first[:, :, None], 1.0, axis=2)
        dx[:, :, rows, cols] += mask.reshape(block.shape) * dout[:, :, i, j][:, :, None, None]
    return dx
'''

DAVE = '''
def conv_forward_naive(x, w, b, conv_param):
    stride = conv_param['stride']
    pad = conv_param['pad']
    N = x.shape[0]
    F, C, HH, WW = w.shape
    H_out = int((x.shape[2] + 2 * pad - HH) / stride) + 1
    W_out = int((x.shape[3] + 2 * pad - WW) / stride) + 1
    x_padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    w_rows = w.reshape(F, -1)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for h in range(H_out):
            for k in range(W_out):
                column = x_padded[n, :, h * stride:h * stride + HH, k * stride:k * stride + WW].reshape(-1)
                out[n, :, h, k] = w_rows.dot(column) + b
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride = conv_param['stride']
    pad = conv_param['pad']
    N = x.shape[0]
    F, C, HH, WW = w.shape
    H_out, W_out = dout.shape[2:]
    x_padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    dx_padded = np.zeros(x_padded.shape)
    w_rows = w.reshape(F, -1)
    dw_rows = np.zeros(w_rows.shape)
    for n in range(N):
        for h in range(H_out):
            for k in range(W_out):
                column = x_padded[n, :, h * stride:h * stride + HH, k * stride:k * stride + WW].reshape(-1)
                dw_rows += np.outer(dout[n, :, h, k], column)
                dcol = w_rows.T.dot(dout[n, :, h, k])
                dx_padded[n, :, h * stride:h * stride + HH, k * stride:k * stride + WW] += dcol.reshape(C, HH, WW)
    # wrong: keeps the padded border (a mistake the tests catch for pad > 0)
    dx = dx_padded
    dw = dw_rows.reshape(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    HP = pool_param['pool_height']
    WP = pool_param['pool_width']
    S = pool_param['stride']
    N, C, H, W = x.shape
    out = np.zeros((N, C, (H - HP) // S + 1, (W - WP) // S + 1))
    for h in range(out.shape[2]):
        for k in range(out.shape[3]):
            window = x[:, :, h * S:h * S + HP, k * S:k * S + WP].reshape(N, C, -1)
            out[:, :, h, k] = window.max(axis=-1)
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    HP = pool_param['pool_height']
    WP = pool_param['pool_width']
    S = pool_param['stride']
    dx = np.zeros(x.shape)
    N, C = x.shape[:2]
    for n in range(N):
        for c in range(C):
            for h in range(dout.shape[2]):
                for k in range(dout.shape[3]):
                    window = x[n, c, h * S:h * S + HP, k * S:k * S + WP]
                    idx = window.argmax()
                    dx[n, c, h * S + idx // WP, k * S + idx % WP] += dout[n, c, h, k]
    return dx
'''

ERIN = '''
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    # forgot the padding in the output size and the input
    H2 = (H - HH) // stride + 1
    W2 = (W - WW) // stride + 1
    out = np.zeros([N, F, H2, W2])
    for img in range(N):
        for filt in range(F):
            for y in range(H2):
                for z in range(W2):
                    acc = 0.0
                    for ch in range(C):
                        acc += (x[img, ch, y*stride:y*stride+HH, z*stride:z*stride+WW] * w[filt, ch]).sum()
                    out[img, filt, y, z] = acc + b[filt]
    cache = (x, w, b, conv_param)
    return out, cache


def max_pool_forward_naive(x, pool_param):
    size = pool_param['pool_height']
    stride = pool_param['stride']
    N, C, H, W = x.shape
    # assumes square windows
    H2 = (H - size) // stride + 1
    W2 = (W - size) // stride + 1
    out = np.zeros([N, C, H2, W2])
    for img in range(N):
        for ch in range(C):
            for y in range(H2):
                for z in range(W2):
                    out[img, ch, y, z] = x[img, ch, y*stride:y*stride+size, z*stride:z*stride+size].max()
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    size = pool_param['pool_height']
    stride = pool_param['stride']
    dx = np.zeros_like(x)
    for img in range(dout.shape[0]):
        for ch in range(dout.shape[1]):
            for y in range(dout.shape[2]):
                for z in range(dout.shape[3]):
                    win = x[img, ch, y*stride:y*stride+size, z*stride:z*stride+size]
                    # every element equal to the maximum gets the gradient
                    dx[img, ch, y*stride:y*stride+size, z*stride:z*stride+size] += (win == win.max()) * dout[img, ch, y, z]
    return dx
'''

FRANK = '''
def conv_forward_naive(x, w, b, conv_param):
    st = conv_param['stride']
    pd = conv_param['pad']
    n_img, n_ch, rows, cols = x.shape
    n_f, _, k_rows, k_cols = w.shape
    padded = np.zeros((n_img, n_ch, rows + 2 * pd, cols + 2 * pd))
    padded[:, :, pd:rows + pd, pd:cols + pd] = x
    out_rows = (rows + 2 * pd - k_rows) // st + 1
    out_cols = (cols + 2 * pd - k_cols) // st + 1
    out = np.zeros((n_img, n_f, out_rows, out_cols))
    top = 0
    out_r = 0
    while out_r < out_rows:
        left = 0
        out_c = 0
        while out_c < out_cols:
            block = padded[:, None, :, top:top + k_rows, left:left + k_cols]
            out[:, :, out_r, out_c] = (block * w[None]).sum(axis=(2, 3, 4)) + b
            left += st
            out_c += 1
        top += st
        out_r += 1
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    st = conv_param['stride']
    pd = conv_param['pad']
    n_img, n_ch, rows, cols = x.shape
    n_f, _, k_rows, k_cols = w.shape
    padded = np.zeros((n_img, n_ch, rows + 2 * pd, cols + 2 * pd))
    padded[:, :, pd:rows + pd, pd:cols + pd] = x
    d_padded = np.zeros_like(padded)
    dw = np.zeros_like(w)
    out_rows, out_cols = dout.shape[2], dout.shape[3]
    for out_r in range(out_rows):
        for out_c in range(out_cols):
            top, left = out_r * st, out_c * st
            block = padded[:, :, top:top + k_rows, left:left + k_cols]
            grad = dout[:, :, out_r, out_c]
            dw += np.einsum('nf,nchw->fchw', grad, block)
            d_padded[:, :, top:top + k_rows, left:left + k_cols] += np.einsum('nf,fchw->nchw', grad, w)
    dx = d_padded[:, :, pd:rows + pd, pd:cols + pd]
    # bias gradient forgotten: zeros
    db = np.zeros_like(b)
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    k_rows, k_cols = pool_param['pool_height'], pool_param['pool_width']
    st = pool_param['stride']
    n_img, n_ch, rows, cols = x.shape
    out_rows = (rows - k_rows) // st + 1
    out_cols = (cols - k_cols) // st + 1
    out = np.full((n_img, n_ch, out_rows, out_cols), -np.inf)
    for a in range(k_rows):
        for c in range(k_cols):
            shifted = x[:, :, a:a + st * (out_rows - 1) + 1:st, c:c + st * (out_cols - 1) + 1:st]
            out = np.maximum(out, shifted)
    cache = (x, pool_param)
    return out, cache
'''

HONEST = {"alice": ALICE, "bob": BOB, "carol": CAROL, "dave": DAVE, "erin": ERIN,
          "frank": FRANK}
CORRECT = ("alice", "bob", "carol")     # the others carry deliberate mistakes


def _rename(code, names):
    """``code`` with every identifier in ``names`` renamed (a copier's search-and-replace)."""
    tree = ast.parse(code)

    class Renamer(ast.NodeTransformer):
        def visit_Name(self, node):
            node.id = names.get(node.id, node.id)
            return node

        def visit_arg(self, node):
            node.arg = names.get(node.arg, node.arg)
            return node
    return ast.unparse(Renamer().visit(tree))


def heidi_from_bob():
    """Bob's code, disguised: functions reordered, variables renamed, comments rewritten."""
    functions = {}
    for node in ast.parse(BOB).body:
        functions[node.name] = ast.get_source_segment(BOB, node)
    order = ["max_pool_backward_naive", "conv_backward_naive", "max_pool_forward_naive",
             "conv_forward_naive"]
    names = {"s": "step", "p": "padding", "num": "batch", "chans": "depth", "height": "rows",
             "width": "cols", "nfilt": "kernels", "fh": "kh", "fw": "kw", "oh": "out_h",
             "ow": "out_w", "r": "y", "q": "z", "u": "dy", "v": "dx_", "total": "acc",
             "best": "top_val", "bu": "arg_y", "bv": "arg_x", "g": "upstream", "val": "cand",
             "x": "inp", "w": "kern", "b": "bias", "dout": "grad_out", "cache": "saved",
             "conv_param": "cp", "pool_param": "pp", "n": "img", "f": "k", "c": "ch",
             "row": "yy", "col": "xx", "ph": "win_h", "pw": "win_w", "stride": "hop",
             "out": "result", "dx": "grad_in", "dw": "grad_w", "db": "grad_b", "_": "unused"}
    comments = ["# Convolution done the slow way, one product at a time.",
                "# Gradient of the max: it goes to the winning entry only.",
                "# Work out the output shape first."]
    parts = [f"{comments[k % len(comments)]}\n{_rename(functions[name], names)}"
             for k, name in enumerate(order)]
    return "\n\n\n".join(parts)


def _replace_functions(release_text, code):
    """The release file with each function ``code`` defines swapped in (new helpers on top)."""
    mine = {n.name: ast.get_source_segment(code, n) for n in ast.parse(code).body}
    lines = release_text.split("\n")
    spans = {n.name: (n.lineno - 1, n.end_lineno) for n in ast.parse(release_text).body
             if isinstance(n, ast.FunctionDef)}
    for name in sorted(spans, key=lambda k: -spans[k][0]):
        if name in mine:
            start, end = spans[name]
            lines[start:end] = mine.pop(name).split("\n")
    helpers = "\n\n\n".join(mine.values())
    text = "\n".join(lines)
    if helpers:
        first = min(s for s, _ in spans.values())
        head, tail = "\n".join(lines[:first]), "\n".join(lines[first:])
        text = f"{head}{helpers}\n\n\n{tail}"
    return text


def build_class(folder, release):
    """Write the class into ``folder`` (one subfolder per student) from the ``release`` folder."""
    folder, release = Path(folder), Path(release)
    codes = {name: textwrap.dedent(code) for name, code in HONEST.items()}
    codes["grace"] = codes["alice"]
    codes["heidi"] = heidi_from_bob()
    for name, code in codes.items():
        target = folder / name
        shutil.copytree(release, target)
        path = target / "nndl" / "conv_layers.py"
        path.write_text(_replace_functions(path.read_text(), code))
    return sorted(codes)
