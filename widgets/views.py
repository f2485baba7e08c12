"""What each mode shows: a board drawn once, and one small frame per step.

``*_board`` functions return the grids that stay the same through every step
(input, filters, outputs, upstream gradient, a student's output), each cell
tagged for :func:`cnnkit.widgets.render.rules`. The frame functions return a
step's ``<style>`` (which cells are read, written, tied, not computed yet)
and its text, plus the grids whose numbers change every step (the gradients
accumulated so far in backward mode). ``scope`` is the stepper's CSS class.
"""
import numpy as np

from .frames import fmt
from .render import board, cells, frame, grid, row, rules, text, window_marks


def _steps(shape):
    """(K, H', W') array of the step that produces each output cell."""
    return np.arange(int(np.prod(shape))).reshape(shape)


def _later(shape, step, tag="o"):
    """Selectors of the output cells computed after ``step``."""
    return [f".{tag}{k}-{i}-{j}" for k, i, j in zip(*np.unravel_index(
        np.arange(step + 1, int(np.prod(shape))), shape))]


def _maps(a, name, tag, digits, go=False):
    """One grid per leading index of the (K, R, S) array ``a``."""
    steps = _steps(a.shape) if go else None
    return [grid(a[k], f"{name}[{k}]", f"{tag}{k}", go=None if steps is None else steps[k],
                 digits=digits) for k in range(a.shape[0])]


def _student(check, digits):
    """The student's output with wrong cells marked, or nothing if it has none."""
    if check is None or check.got is None:
        return ""
    steps = _steps(check.got.shape)
    blocks = [grid(check.got[k], f"your out[{k}]", f"s{k}",
                   {tuple(int(v) for v in p): "cnk-wrong" for p in np.argwhere(check.wrong[k])},
                   go=steps[k], digits=digits, scale=float(np.abs(check.expected).max()))
              for k in range(check.got.shape[0])]
    return row(*blocks)


def _student_grads(check, digits):
    """The student's gradients (final values), wrong entries marked; nothing without any."""
    if check is None or check.got is None:
        return ""
    blocks = []
    for key, got in check.got.items():
        lead = got.shape[:-2] if got.ndim >= 2 else ()
        maps = got.reshape((-1,) + got.shape[-2:]) if got.ndim >= 2 else got[None, None]
        wrong = check.wrong[key].reshape(maps.shape)
        prefix = "0," if key == "dx" else ""
        for k, values in enumerate(maps):
            index = ",".join(map(str, np.unravel_index(k, lead))) if lead else ""
            title = f"your {key}[{prefix}{index}]" if (index or prefix) else f"your {key}"
            marks = {tuple(int(v) for v in p): "cnk-wrong" for p in np.argwhere(wrong[k])}
            blocks.append(grid(values, title.replace(",]", "]"), marks=marks, digits=digits,
                               scale=float(np.abs(check.expected[key]).max()) or 1.0))
    return text("Your gradients after the whole backward pass (wrong entries marked):",
                "cnk-note") + row(*blocks)


def _gradient_verdict(check, step, digits):
    """On the step that feeds the first wrong gradient entry, say so."""
    if check is None or check.step != step or check.first_wrong is None:
        return ""
    key, index = check.first_wrong
    shown = ",".join(map(str, ((0,) + index) if key == "dx" else index))
    return text(f"This step feeds your first wrong entry, {key}[{shown}]: expected "
                f"{fmt(check.expected[key][index], digits + 2)}, your backward returns "
                f"{fmt(check.got[key][index], digits + 2)}", "cnk-note cnk-bad")


def _verdict(check, cell, digits):
    if check is None:
        return ""
    if check.got is None:
        return text(check.message, "cnk-note cnk-bad")
    where = f"your out[0,{','.join(map(str, cell))}] = {fmt(check.got[cell], digits + 2)}"
    if check.wrong[cell]:
        line = (f"<div class='cnk-note cnk-bad'>{where}, expected "
                f"{fmt(check.expected[cell], digits + 2)} &#10007;</div>")
    else:
        line = f"<div class='cnk-note cnk-good'>{where} &#10003;</div>"
    return line + text(check.message, "cnk-note")


# -- convolution ---------------------------------------------------------
def _conv_inputs(cf, digits):
    title = "x[{}] padded" if cf.pad else "x[{}]"
    return row(*[grid(cf.xp[c], title.format(c), f"x{c}", pad=cf.pad, digits=digits)
                 for c in range(cf.xp.shape[0])])


def _conv_filters(cf, digits):
    """One row per filter ``f`` (class ``cnk-f{f}``): its channels and its bias."""
    w, b = cf.w, cf.b
    return "".join(
        row(*[grid(w[f, c], f"w[{f},{c}]", f"w{f}-{c}", digits=digits)
              for c in range(w.shape[1])],
            grid([[b[f]]], f"b[{f}]", f"b{f}", digits=digits), cls=f"cnk-f{f}")
        for f in range(w.shape[0]))


def _conv_marks(cf, fr):
    C, F = cf.xp.shape[0], cf.w.shape[0]
    return {"hl": [s for c in range(C) for s in cells(f"x{c}", fr.rows, fr.cols)]
            + [f".cnk-f{fr.f} td"],
            "hide": [f".cnk-f{g}" for g in range(F) if g != fr.f]}


def conv_board(cf, digits=2, check=None, backward=False, event="onclick"):
    """Padded input, filters and output (or upstream gradient) of a convolution."""
    if backward:
        body = row(*_maps(cf.dout, "dout", "d", digits, go=True))
        return board(body + _conv_inputs(cf, digits) + _conv_filters(cf, digits)
                     + _student_grads(check, digits), event)
    body = (_conv_inputs(cf, digits) + _conv_filters(cf, digits)
            + row(*_maps(cf.out, "out", "o", digits, go=True)) + _student(check, digits))
    return board(body, event)


def conv_forward(scope, cf, fr, digits=2, check=None):
    """Receptive field in every channel, the filter and bias, the output cell, the sum."""
    cell = (fr.f, fr.i, fr.j)
    marks = _conv_marks(cf, fr)
    marks["cur"] = [f".o{fr.f}-{fr.i}-{fr.j}", f".s{fr.f}-{fr.i}-{fr.j}"]
    marks["blank"] = _later(cf.out.shape, fr.step)
    body = rules(scope, marks) + text(f"out[{fr.f},{fr.i},{fr.j}] = {fr.equation(digits)}")
    return frame(fr.step, cell, body + _verdict(check, cell, digits))


def conv_backward(scope, cf, fr, digits=2, check=None):
    """One upstream gradient cell spreading into dx (window) and dw (filter f)."""
    cell = (fr.f, fr.i, fr.j)
    last = cf.frames[-1]
    (r0, r1), (c0, c1), g, p = fr.rows, fr.cols, fr.grad, cf.pad
    marks = _conv_marks(cf, fr)
    marks["cur"] = [f".d{fr.f}-{fr.i}-{fr.j}"]
    dx_scale, dw_scale = float(np.abs(last.dx).max()), float(np.abs(last.dw).max())
    dx = [grid(fr.dx[c], f"dx[{c}] so far" + (" (padded)" if p else ""),
               marks=window_marks(fr.rows, fr.cols), pad=p, digits=digits, scale=dx_scale)
          for c in range(fr.dx.shape[0])]
    dw = [grid(fr.dw[fr.f, c], f"dw[{fr.f},{c}] so far",
               marks=window_marks((0, cf.w.shape[2]), (0, cf.w.shape[3])), digits=digits,
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
    body = (rules(scope, marks) + text("\n".join(lines))
            + _gradient_verdict(check, fr.step, digits) + row(*dx) + row(*dw))
    if p:
        body += text(f"Indices are in padded coordinates (x_pad = x with {p} zeros around "
                     "it). Gradient that lands on the padding (grey) is dropped: dx is dx_pad "
                     f"with its {p}-cell border cut off.", "cnk-note")
    return frame(fr.step, cell, body)


# -- max pooling ---------------------------------------------------------
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


def _pool_marks(fr, tag="x"):
    """The window in channel c, its tied maxima and its arg-max."""
    return {"hl": cells(f"{tag}{fr.c}", fr.rows, fr.cols),
            "tie": [f".{tag}{fr.c}-{r}-{s}" for r, s in fr.ties] if len(fr.ties) > 1 else [],
            "cur": [f".{tag}{fr.c}-{fr.argmax[0]}-{fr.argmax[1]}"]}


def pool_board(pf, digits=2, check=None, backward=False, event="onclick"):
    """Input and output (or upstream gradient) of a max pooling."""
    inputs = row(*_maps(pf.x, "x", "x", digits))
    if backward:
        return board(row(*_maps(pf.dout, "dout", "d", digits, go=True)) + inputs
                     + _student_grads(check, digits), event)
    return board(inputs + row(*_maps(pf.out, "out", "o", digits, go=True))
                 + _student(check, digits), event)


def pool_forward(scope, pf, fr, digits=2, check=None):
    """The window in channel c, its maximum (ties marked) and the output cell."""
    cell = (fr.c, fr.i, fr.j)
    marks = _pool_marks(fr)
    marks["cur"] += [f".o{fr.c}-{fr.i}-{fr.j}", f".s{fr.c}-{fr.i}-{fr.j}"]
    marks["blank"] = _later(pf.out.shape, fr.step)
    body = (rules(scope, marks) + text(f"out[{fr.c},{fr.i},{fr.j}] = {fr.equation(digits)}")
            + _tie_note(fr, False))
    return frame(fr.step, cell, body + _verdict(check, cell, digits))


def pool_backward(scope, pf, fr, digits=2, check=None):
    """The upstream gradient cell going to the window's arg-max only."""
    cell = (fr.c, fr.i, fr.j)
    marks = _pool_marks(fr)
    marks["cur"] += [f".d{fr.c}-{fr.i}-{fr.j}"]
    r, s = fr.argmax
    lines = [f"dout[{fr.c},{fr.i},{fr.j}] = {fmt(fr.grad, digits)} goes to the arg-max only:",
             f"  dx[{fr.c},{r},{s}] += {fmt(fr.grad, digits)}   (x[{fr.c},{r},{s}] = "
             f"{fmt(fr.value, digits)} is the window's maximum; the other "
             f"{len(fr.window) - 1} cells get 0 from this window)"]
    if pf.stride < max(pf.pool_height, pf.pool_width):
        lines.append("Windows overlap: a cell that is the maximum of several windows "
                     "collects the sum of their gradients.")
    scale = float(np.abs(pf.frames[-1].dx).max())
    dx = []
    for c in range(fr.dx.shape[0]):
        marks_c = {}
        if c == fr.c:
            marks_c = window_marks(fr.rows, fr.cols)
            marks_c[fr.argmax] = "cnk-cur"
        dx.append(grid(fr.dx[c], f"dx[{c}] so far", marks=marks_c, digits=digits, scale=scale))
    body = (rules(scope, marks) + text("\n".join(lines)) + _tie_note(fr, True)
            + _gradient_verdict(check, fr.step, digits) + row(*dx))
    return frame(fr.step, cell, body)
