"""One frame as HTML: what each step of each mode shows.

Each function takes the frame set from :mod:`cnnkit.widgets.frames`, one
frame and the number of digits, and returns a self-contained HTML string
(the stylesheet is :data:`cnnkit.widgets.render.CSS`, added once per widget).
"""
import numpy as np

from .frames import fmt
from .render import frame, grid, row, text, window_marks


def _steps(shape):
    """(K, H', W') array of the step that produces each output cell."""
    return np.arange(int(np.prod(shape))).reshape(shape)


def _outputs(out, step, current, name, digits, blank=True):
    go = _steps(out.shape)
    return [grid(out[k], f"{name}[{k}]",
                 marks={current[1:]: "cnk-cur"} if k == current[0] else None, go=go[k],
                 blank=(go[k] > step) if blank else None, digits=digits)
            for k in range(out.shape[0])]


def _padded_inputs(cf, fr, digits):
    title = "x[{}] padded" if cf.pad else "x[{}]"
    return [grid(cf.xp[c], title.format(c), window_marks(fr.rows, fr.cols), pad=cf.pad,
                 digits=digits) for c in range(cf.xp.shape[0])]


def _filters(w, f, digits, name="w"):
    return [grid(w[f, c], f"{name}[{f},{c}]", window_marks((0, w.shape[2]), (0, w.shape[3])),
                 digits=digits) for c in range(w.shape[1])]


def _student(check, step, cell, digits):
    """Student grids and a verdict line for check mode."""
    if check.got is None:
        return [], text(check.message, "cnk-note cnk-bad")
    blocks = []
    for k in range(check.got.shape[0]):
        marks = {tuple(int(v) for v in p): "cnk-wrong" for p in np.argwhere(check.wrong[k])}
        if k == cell[0]:
            marks[cell[1:]] = marks.get(cell[1:], "") + " cnk-cur"
        blocks.append(grid(check.got[k], f"your out[{k}]", marks, go=_steps(check.got.shape)[k],
                           digits=digits, scale=float(np.abs(check.expected).max())))
    got, want = check.got[cell], check.expected[cell]
    if check.wrong[cell]:
        verdict = (f"<div class='cnk-note cnk-bad'>your out[0,{','.join(map(str, cell))}] = "
                   f"{fmt(got, digits + 2)}, expected {fmt(want, digits + 2)} &#10007;</div>")
    else:
        verdict = (f"<div class='cnk-note cnk-good'>your out[0,{','.join(map(str, cell))}] = "
                   f"{fmt(got, digits + 2)} &#10003;</div>")
    return blocks, verdict + text(check.message, "cnk-note")


def conv_forward(cf, fr, digits=2, check=None, event="onclick"):
    """Receptive field in every channel, the filter, the bias, the output cell, the sum."""
    cell = (fr.f, fr.i, fr.j)
    filt = _filters(cf.w, fr.f, digits) + [
        grid([[cf.b[fr.f]]], f"b[{fr.f}]", {(0, 0): "cnk-hl"}, digits=digits)]
    outs = _outputs(cf.out, fr.step, cell, "out", digits)
    body = row(*_padded_inputs(cf, fr, digits)) + row(*filt) + row(*outs)
    body += text(f"out[{fr.f},{fr.i},{fr.j}] = {fr.equation(digits)}")
    if check is not None:
        blocks, verdict = _student(check, fr.step, cell, digits)
        body += row(*blocks) + verdict
    return frame(fr.step, cell, body, event)


def conv_backward(cf, fr, digits=2, event="onclick"):
    """One upstream gradient cell spreading into dx (window) and dw (filter f)."""
    cell = (fr.f, fr.i, fr.j)
    last = cf.frames[-1]
    (r0, r1), (c0, c1), g, p = fr.rows, fr.cols, fr.grad, cf.pad
    douts = _outputs(cf.dout, fr.step, cell, "dout", digits, blank=False)
    dx_scale, dw_scale = float(np.abs(last.dx).max()), float(np.abs(last.dw).max())
    dx = [grid(fr.dx[c], f"dx[{c}] so far" + (" (padded)" if p else ""),
               window_marks(fr.rows, fr.cols), pad=p, digits=digits, scale=dx_scale)
          for c in range(fr.dx.shape[0])]
    dw = [grid(fr.dw[fr.f, c], f"dw[{fr.f},{c}] so far",
               window_marks((0, cf.w.shape[2]), (0, cf.w.shape[3])), digits=digits,
               scale=dw_scale) for c in range(cf.w.shape[1])]
    db = float(cf.dout[fr.f].ravel()[:fr.i * cf.dout.shape[2] + fr.j + 1].sum())
    dx_name, x_name = ("dx_pad", "x_pad") if p else ("dx", "x")
    where = f"[:, {r0}:{r1}, {c0}:{c1}]"
    lines = [
        f"dout[{fr.f},{fr.i},{fr.j}] = {fmt(g, digits)} flows back through every product:",
        f"  {dx_name}{where} += {fmt(g, digits)} * w[{fr.f}]"
        f"   e.g. {fmt(g, digits)}*{fmt(cf.w[fr.f, 0, 0, 0], digits)} "
        f"= {fmt(g * cf.w[fr.f, 0, 0, 0], digits)}",
        f"  dw[{fr.f}] += {fmt(g, digits)} * {x_name}{where}"
        f"   e.g. {fmt(g, digits)}*{fmt(cf.xp[0, r0, c0], digits)} "
        f"= {fmt(g * cf.xp[0, r0, c0], digits)}",
        f"  db[{fr.f}] += {fmt(g, digits)}  ->  db[{fr.f}] = {fmt(db, digits)} so far"]
    body = row(*douts) + row(*_padded_inputs(cf, fr, digits)) + row(*_filters(cf.w, fr.f, digits))
    body += text("\n".join(lines)) + row(*dx) + row(*dw)
    if p:
        body += text(f"Indices are in padded coordinates (x_pad = x with {p} zeros around "
                     "it). Gradient that lands on the padding (grey) is dropped: dx is dx_pad "
                     f"with its {p}-cell border cut off.", "cnk-note")
    return frame(fr.step, cell, body, event)


def _tie_note(fr, backward):
    if len(fr.ties) < 2:
        return ""
    where = ", ".join(f"({r},{s})" for r, s in fr.ties)
    msg = (f"Tie: {len(fr.ties)} cells hold the maximum {fmt(fr.value)}: {where}. "
           "The output is the same whichever one wins")
    if backward:
        msg += (f", but the gradient goes to one cell only: the first in row-major order, "
                f"({fr.argmax[0]},{fr.argmax[1]}), as cnnkit.reference does. The others get "
                "nothing from this window.")
    else:
        msg += (f"; the backward pass will send the gradient only to the first in row-major "
                f"order, ({fr.argmax[0]},{fr.argmax[1]}).")
    return text(msg, "cnk-note cnk-bad")


def _pool_inputs(pf, fr, digits, title="x[{}]", arrays=None, scale=None):
    arrays = pf.x if arrays is None else arrays
    blocks = []
    for c in range(arrays.shape[0]):
        marks = {}
        if c == fr.c:
            marks = window_marks(fr.rows, fr.cols)
            marks.update({t: "cnk-hl cnk-tie" for t in fr.ties})
            marks[fr.argmax] = "cnk-cur" + (" cnk-tie" if len(fr.ties) > 1 else "")
        blocks.append(grid(arrays[c], title.format(c), marks, digits=digits, scale=scale))
    return blocks


def pool_forward(pf, fr, digits=2, check=None, event="onclick"):
    """The window in channel c, its maximum (ties marked) and the output cell."""
    cell = (fr.c, fr.i, fr.j)
    outs = _outputs(pf.out, fr.step, cell, "out", digits)
    body = row(*_pool_inputs(pf, fr, digits)) + row(*outs)
    body += text(f"out[{fr.c},{fr.i},{fr.j}] = {fr.equation(digits)}") + _tie_note(fr, False)
    if check is not None:
        blocks, verdict = _student(check, fr.step, cell, digits)
        body += row(*blocks) + verdict
    return frame(fr.step, cell, body, event)


def pool_backward(pf, fr, digits=2, event="onclick"):
    """The upstream gradient cell going to the window's arg-max only."""
    cell = (fr.c, fr.i, fr.j)
    douts = _outputs(pf.dout, fr.step, cell, "dout", digits, blank=False)
    r, s = fr.argmax
    n_other = len(fr.window) - 1
    lines = [f"dout[{fr.c},{fr.i},{fr.j}] = {fmt(fr.grad, digits)} goes to the arg-max only:",
             f"  dx[{fr.c},{r},{s}] += {fmt(fr.grad, digits)}   (x[{fr.c},{r},{s}] = "
             f"{fmt(fr.value, digits)} is the window's maximum; the other {n_other} "
             "cells get 0 from this window)"]
    if pf.stride < max(pf.pool_height, pf.pool_width):
        lines.append("Windows overlap: a cell that is the maximum of several windows "
                     "collects the sum of their gradients.")
    dx = _pool_inputs(pf, fr, digits, "dx[{}] so far", fr.dx,
                      scale=float(np.abs(pf.frames[-1].dx).max()))
    body = (row(*douts) + row(*_pool_inputs(pf, fr, digits)) + text("\n".join(lines))
            + _tie_note(fr, True) + row(*dx))
    return frame(fr.step, cell, body, event)
