"""The class report's plots, drawn by matplotlib as inline SVG (text as paths: no fonts to load).

Figures are built with :class:`matplotlib.figure.Figure` directly, so no
global pyplot state or GUI backend is involved.
"""
import io
import math
import re

from matplotlib.figure import Figure

PASS = "#1a7f37"
MIDDLE = "#d29922"
FAIL = "#b00020"
BAR = "#4c72b0"


def svg(fig):
    """The figure as an ``<svg>`` element (no XML prolog), for pasting into HTML."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)


def _rate_colour(rate):
    return PASS if rate >= 0.8 else MIDDLE if rate >= 0.5 else FAIL


def total_histogram(totals, max_total):
    """Histogram of the students' totals, from 0 to ``max_total``."""
    fig = Figure(figsize=(7, 2.8))
    ax = fig.add_subplot()
    bins = [max_total * k / 20 for k in range(21)]
    ax.hist(totals, bins=bins, color=BAR, edgecolor="white")
    ax.set_xlim(0, max_total)
    ax.set_xlabel(f"total points (of {max_total:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"Total score, {len(totals)} students")
    return svg(fig)


def group_histograms(fractions, points):
    """Small multiples: for each test group, how many students earned which share of it."""
    names = list(fractions)
    cols = 3
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(9, 2.1 * rows))
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.hist([100 * f for f in fractions[name]], bins=[10 * i for i in range(11)],
                color=BAR, edgecolor="white")
        ax.set_xlim(0, 100)
        ax.set_title(f"{name} ({points[name]:g} pts)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.yaxis.get_major_locator().set_params(integer=True)
        if k % cols == 0:
            ax.set_ylabel("students", fontsize=8)
        if k >= len(names) - cols:
            ax.set_xlabel("% of the group's points", fontsize=8)
    fig.tight_layout()
    return svg(fig)


def kind_rates(rates):
    """Horizontal bars: the pass rate of each kind of hidden case, grouped by test group."""
    labels, values = [], []
    for group, kinds in rates.items():
        for r in kinds:
            labels.append(f"{group}: {r.kind}")
            values.append(100 * r.rate)
    fig = Figure(figsize=(8, 0.6 + 0.22 * max(len(labels), 1)))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=[_rate_colour(v / 100) for v in values])
    ax.set_yticks(positions, labels, fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("cases passed (%)")
    ax.set_title("Pass rate per kind of hidden case")
    ax.grid(axis="x", alpha=0.3)
    return svg(fig)


def timing_histogram(seconds):
    """Histogram of the seconds each graded student took."""
    fig = Figure(figsize=(7, 2.4))
    ax = fig.add_subplot()
    ax.hist(seconds, bins=20, color=BAR, edgecolor="white")
    ax.set_xlabel("seconds per student")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Grading time per student")
    return svg(fig)
