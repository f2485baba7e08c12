"""Text tables of the benchmark's results, and the summary of several runs."""
import numpy as np

from .measure import TARGETS


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def format_table(result):
    """A readable text table of :func:`run_benchmark`'s result."""
    m = result["machine"]
    lines = [f"cnnkit bench  {m['date']}  {m['cpu_model']}  {m['cores']} cores, "
             f"{m['threads']} threads  numpy {m['numpy']}  torch {m['torch'] or 'missing'}  "
             f"kernels: {m['kernels']}",
             f"conv parallelism: {m['conv_parallelism']}"]
    if result["note"]:
        lines.append(result["note"])
    loads = [v[0] for v in (m.get("load_average_before"), m.get("load_average")) if v]
    # the benchmark itself keeps about `threads` cores busy while it runs
    if loads and m["cores"] and max(loads) > m["cores"] + 0.5:
        lines.append(f"warning: the machine was busy (1-minute load average "
                     f"{' then '.join(f'{v:.1f}' for v in loads)} on {m['cores']} cores); "
                     "compare the ratios, not the times, and re-run on a quiet machine "
                     "for figures to quote.")
    if m.get("openblas_env"):
        lines.append(f"note: {', '.join(m['openblas_env'])} set; numpy's BLAS may run a "
                     "slower kernel (unset it for this command alone).")
    width = max(len(c["name"]) for c in result["cases"] + result["naive"])
    lines.append(f"{'forward+backward, float32':<{width}}  {'cnnkit ms':>9}  {'torch ms':>9}"
                 f"  {'ratio':>6}  {'GFLOP/s cnnkit / torch / matmul':>31}")
    for c in result["cases"]:
        g = c.get("gflops")
        gtxt = "" if g is None else (f"{_fmt(g['cnnkit'], '.0f')} / {_fmt(g['torch'], '.0f')}"
                                     f" / {_fmt(g['matmul'], '.0f')}")
        lines.append(f"{c['name']:<{width}}  {c['cnnkit_ms']:9.2f}  {_fmt(c['torch_ms'], '9.2f')}"
                     f"  {_fmt(c['ratio'], '6.2f')}  {gtxt:>31}")
    lines.append("")
    lines.append(f"{'naive loops vs fast':<{width}}  {'naive ms':>9}  {'fast ms':>9}"
                 f"  {'speed-up':>8}")
    for r in result["naive"]:
        lines.append(f"{r['name']:<{width}}  {r['naive_ms']:9.2f}  {r['fast_ms']:9.2f}"
                     f"  {r['speedup']:7.1f}x")
    lines.append(f"ratio = cnnkit time / PyTorch time (median of {result['settings']['repeats']} "
                 "alternating runs); below 1 means cnnkit is faster.")
    algorithms = [f"{c['name'].split(' on ')[0]}: {c['algorithm']}"
                  for c in result["cases"] if c.get("algorithm")]
    if algorithms:
        lines.append("conv algorithms: " + "; ".join(algorithms) + ". GFLOP/s count a direct "
                     "convolution's multiply-adds, which Winograd cuts 4x.")
    return "\n".join(lines)


def summarize_runs(results):
    """Per case, the medians over several :func:`run_benchmark` results and the ratios' range.

    This machine class has spells in which everything runs up to 2x slower, so
    one run's ratio can land anywhere in a band; several runs show the band.
    Returns a list of dicts: ``name``, ``kind``, ``runs``, ``cnnkit_ms`` and
    ``torch_ms`` (medians), ``ratio`` (median of the runs' ratios),
    ``ratio_min``, ``ratio_max``, ``target`` (see :data:`TARGETS`) and
    ``within_target`` (how many runs' ratios are at or under it); ratios are
    None without PyTorch.
    """
    if not results:
        raise ValueError("summarize_runs needs at least one benchmark result")
    summary = []
    for index, case in enumerate(results[0]["cases"]):
        same = [r["cases"][index] for r in results]
        ratios = [c["ratio"] for c in same if c["ratio"] is not None]
        target = TARGETS.get(case["kind"])
        summary.append({
            "name": case["name"], "kind": case["kind"], "runs": len(same),
            "cnnkit_ms": float(np.median([c["cnnkit_ms"] for c in same])),
            "torch_ms": (float(np.median([c["torch_ms"] for c in same]))
                         if ratios else None),
            "ratio": float(np.median(ratios)) if ratios else None,
            "ratio_min": min(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "target": target,
            "within_target": (sum(r <= target for r in ratios)
                              if ratios and target is not None else None),
        })
    return summary


def format_summary(summary):
    """A readable text table of :func:`summarize_runs`' result."""
    width = max(len(c["name"]) for c in summary)
    runs = summary[0]["runs"]
    lines = [f"over {runs} runs (medians; ratio range; runs at or under the target)",
             f"{'forward+backward, float32':<{width}}  {'cnnkit ms':>9}  {'torch ms':>9}"
             f"  {'ratio':>6}  {'range':>11}  {'target':>8}"]
    for c in summary:
        rng_txt = ("-" if c["ratio"] is None
                   else f"{c['ratio_min']:.2f}-{c['ratio_max']:.2f}")
        target = ("-" if c["within_target"] is None
                  else f"{c['within_target']}/{runs} <={c['target']:g}")
        lines.append(f"{c['name']:<{width}}  {c['cnnkit_ms']:9.2f}  {_fmt(c['torch_ms'], '9.2f')}"
                     f"  {_fmt(c['ratio'], '6.2f')}  {rng_txt:>11}  {target:>8}")
    return "\n".join(lines)
