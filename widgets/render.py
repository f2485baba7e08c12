"""HTML building blocks: number grids with a colour scale, one stylesheet.

Everything is a plain HTML string with CSS classes and inline background
colours, so it renders the same in a live kernel and in an exported page.
The grids that stay the same through every step are drawn once (the
*board*); each cell carries a class such as ``x0-2-3`` (grid tag, row,
column). A step's frame is then only a small ``<style>`` block, scoped to one
stepper, that outlines or blanks cells by those classes (:func:`rules`), plus
its text, so switching frames restyles the board instead of rebuilding it.
Cells that carry ``data-go="k"`` (output cells) or ``data-delta="d"``
(previous/next buttons) move the stepper through :data:`JUMP_JS`, which runs
in the browser and needs no kernel.
"""
import base64
import html
import struct
import zlib

import numpy as np

from .frames import fmt

CSS = """<style>
.cnk-frame,.cnk-head,.cnk-board{font:12px/1.35 sans-serif;color:#111}
.cnk-row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;margin:4px 0}
.cnk-title{font-weight:600;margin:0 0 2px 0;font-size:11px}
.cnk-grid{border-collapse:collapse}
.cnk-grid td{min-width:2.6em;height:1.45em;padding:0 2px;text-align:center;
 font:11px monospace;border:1px solid #d4d4d4;color:#111}
.cnk-grid td.cnk-pad{color:#888;font-style:italic}
.cnk-grid td.cnk-hl{box-shadow:inset 0 0 0 2px #f08c00}
.cnk-grid td.cnk-cur{box-shadow:inset 0 0 0 3px #2b8a3e;font-weight:bold}
.cnk-grid td.cnk-wrong{color:#c92a2a;font-weight:bold;outline:2px dashed #c92a2a;
 outline-offset:-3px}
.cnk-grid td[data-go]{cursor:pointer}
.cnk-sum{font:12px monospace;white-space:pre-wrap;word-break:break-word;background:#f6f6f6;
 padding:4px 6px;border-left:3px solid #f08c00;margin:4px 0}
.cnk-note{font-size:12px;margin:2px 0;color:#333}
.cnk-bad{color:#c92a2a;font-weight:600}
.cnk-good{color:#2b8a3e;font-weight:600}
.cnk-nav button{font-size:14px;min-width:2.4em;margin-right:4px;cursor:pointer}
</style>"""

JUMP_JS = (
    "var t=event.target.closest('[data-go],[data-delta]');if(!t)return;"
    "var i=this.closest('.cnk-stepper').querySelector('.cnk-step input');if(!i)return;"
    "var v=t.dataset.go!==undefined?+t.dataset.go:+i.value+(+t.dataset.delta);"
    "v=Math.max(+i.min,Math.min(+i.max,v));if(+i.value===v)return;i.value=v;"
    "i.dispatchEvent(new Event('change',{bubbles:true}))")

LEGEND = ("<div class='cnk-note'>Colours: red positive, blue negative, white zero "
          "(scaled per grid). <span style='box-shadow:inset 0 0 0 2px #f08c00'>&nbsp;orange&nbsp;"
          "</span> cells are read in this step; <span style='box-shadow:inset 0 0 0 3px "
          "#2b8a3e'>&nbsp;green&nbsp;</span> is the cell written. Click an output cell to jump "
          "to its step.</div>")


def colours(values, scale):
    """(..., 3) uint8 RGB of ``values`` on a blue-white-red scale of ``+-scale``."""
    values = np.asarray(values, dtype=float)
    t = np.zeros_like(values) if scale == 0 else np.clip(values / scale, -1.0, 1.0)
    target = np.where((t > 0)[..., None], (214, 96, 77), (67, 147, 195))
    return np.round(255 + (target - 255) * np.abs(t)[..., None] * 0.8).astype(np.uint8)


def colour(value, scale):
    """Background colour for ``value`` on a blue-white-red scale of ``+-scale``."""
    return "#%02x%02x%02x" % tuple(int(c) for c in colours(value, scale))


def png_uri(rgb):
    """An (H, W, 3) uint8 image as a ``data:image/png;base64,...`` URI."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def heatmap_uri(values, scale=None):
    """A 2-D array as a PNG heatmap URI, one pixel per cell, colours as :func:`grid`'s."""
    values = np.asarray(values, dtype=float)
    if scale is None:
        scale = float(np.abs(values).max()) if values.size else 0.0
    return png_uri(colours(values, scale))


# What a step can do to a board cell; later entries win over earlier ones.
MARKS = {
    "hl": "box-shadow:inset 0 0 0 2px #f08c00",                        # read
    "tie": "text-decoration:underline wavy #c92a2a",                    # tied maximum
    "cur": "box-shadow:inset 0 0 0 3px #2b8a3e;font-weight:bold",       # written
    "blank": "color:transparent!important;background:#f3f3f3!important",  # not yet
    "hide": "display:none",                                             # not in use
}


def rules(scope, marked):
    """A ``<style>`` block applying :data:`MARKS` to board cells of one stepper.

    Parameters
    ----------
    scope : CSS class of the stepper's root, so two steppers never mix.
    marked : dict mapping a mark (a key of :data:`MARKS`) to a list of
        selectors inside the board, e.g. ``[".x0-1-2", ".cnk-f1 td"]``.
    """
    out = []
    for mark, style in MARKS.items():
        selectors = marked.get(mark)
        if selectors:
            # One plain selector per cell (not :is()), so the browser indexes
            # the rule by the cell's class and restyles only those cells.
            joined = ",".join(f".{scope} {s}" for s in selectors)
            out.append(f"/*{mark}*/{joined}{{{style}}}")
    return "<style>" + "\n".join(out) + "</style>"


def cells(tag, rows, cols):
    """Selectors of the cells ``rows x cols`` (``(start, stop)`` pairs) of grid ``tag``."""
    return [f".{tag}-{r}-{s}" for r in range(*rows) for s in range(*cols)]


def grid(values, title, tag=None, marks=None, go=None, pad=0, digits=2, scale=None):
    """One 2-D array as a titled HTML table.

    Parameters
    ----------
    values : (R, S) array.
    title : text above the table (escaped).
    tag : if given, cell ``(r, s)`` gets the class ``f"{tag}-{r}-{s}"`` so a
        frame's :func:`rules` can mark it.
    marks : dict mapping ``(r, s)`` to CSS classes drawn with the table
        (``"cnk-hl"``, ``"cnk-cur"``, ``"cnk-wrong"``).
    go : (R, S) int array; each cell gets ``data-go`` so a click jumps there.
    pad : width of the zero border drawn as padding.
    scale : colour scale; defaults to the largest magnitude in ``values``.
    """
    values = np.asarray(values, dtype=float)
    marks = marks or {}
    if scale is None:
        scale = float(np.abs(values).max()) if values.size else 0.0
    R, S = values.shape
    rows = []
    for r in range(R):
        cells = []
        for s in range(S):
            cls = [f"{tag}-{r}-{s}"] if tag else []
            if (r, s) in marks:
                cls.append(marks[(r, s)])
            if pad and not (pad <= r < R - pad and pad <= s < S - pad):
                cls.append("cnk-pad")
            attrs = ""
            if go is not None:
                attrs = f' data-go="{int(go[r, s])}"'
            text = fmt(values[r, s], digits)
            style = f' style="background:{colour(values[r, s], scale)}"'
            cls_attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{cls_attr}{style}{attrs}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<div><div class='cnk-title'>{html.escape(title)}</div>"
            f"<table class='cnk-grid'>{''.join(rows)}</table></div>")


def window_marks(rows, cols, cls="cnk-hl"):
    """Marks for every cell of the window ``rows x cols`` (``(start, stop)`` pairs)."""
    return {(r, s): cls for r in range(*rows) for s in range(*cols)}


def row(*blocks, cls=""):
    """Blocks side by side, wrapping when the cell is narrow."""
    return f"<div class='cnk-row {cls}'>" + "".join(blocks) + "</div>"


def board(body, event="onclick"):
    """Wrap the grids that every step shares; clicking a ``data-go`` cell jumps."""
    return f"<div class='cnk-board' {event}=\"{JUMP_JS}\">{body}</div>"


def frame(step, cell, body):
    """Wrap a frame's body; ``cell`` (a tuple) goes to ``data-cell`` for tests."""
    label = ",".join(str(v) for v in cell)
    return f"<div class='cnk-frame' data-step='{step}' data-cell='{label}'>{body}</div>"


def text(equation, cls="cnk-sum"):
    return f"<div class='{cls}'>{html.escape(equation)}</div>"


def nav_buttons():
    """Previous / next buttons that step in the browser, with or without a kernel."""
    return (f"<div class='cnk-nav' onclick=\"{JUMP_JS}\">"
            "<button data-delta='-1' title='previous step'>&#9664;</button>"
            "<button data-delta='1' title='next step'>&#9654;</button></div>")


def header(title, summary, check=None):
    """Title, a one-line summary (trusted HTML), the legend and a check verdict."""
    out = (f"<div class='cnk-title' style='font-size:13px'>{html.escape(title)}</div>"
           f"<div class='cnk-note'>{summary}</div>{LEGEND}")
    if check is not None:
        cls = "cnk-good" if check.passed else "cnk-bad"
        out += f"<div class='cnk-note {cls}'>Check: {html.escape(check.message)}</div>"
    return f"<div class='cnk-head'>{out}</div>"
