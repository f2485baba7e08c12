"""``cnnkit bench``: time the fast reference layers against PyTorch (issue 7)."""
import json
import os
import sys


def register(subparsers):
    """Add the ``bench`` subcommand to the ``cnnkit`` command line."""
    from ..command_line import positive_int
    parser = subparsers.add_parser(
        "bench",
        help="time the fast conv/pool/batchnorm layers against PyTorch's CPU kernels",
        description="Time the reference fast layers (forward + backward, float32) and "
                    "PyTorch's CPU kernels on the same inputs in one process, with the same "
                    "thread count, and print the ratio cnnkit / PyTorch for each layer. "
                    "Without PyTorch only cnnkit is timed. For fair numbers, run it on a quiet "
                    "machine; if OPENBLAS_CORETYPE is set only for an old OpenBLAS, unset it "
                    "for this command alone.")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the results, with machine information, to PATH")
    parser.add_argument("--repeats", type=positive_int, default=7,
                        help="runs per layer; the median is reported (default: 7)")
    parser.add_argument("--runs", type=positive_int, default=1,
                        help="repeat the whole benchmark this many times and also print, per "
                             "layer, the medians and the range of the ratios (default: 1); "
                             "the machine's slow spells move single runs")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny shapes that run in seconds (a smoke test, not a benchmark)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="threads for both numpy's BLAS and PyTorch (default: what BLAS "
                             "uses now); on a busy machine --threads 1 gives steadier ratios; "
                             "needs threadpoolctl")
    parser.add_argument("--no-torch", action="store_true",
                        help="time cnnkit only, even if PyTorch is installed")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run the benchmark for parsed ``args``; return the exit status."""
    from .measure import run_benchmark
    from .report import format_summary, format_table, summarize_runs

    results = []
    for k in range(args.runs):
        try:
            results.append(run_benchmark(repeats=args.repeats, tiny=args.tiny,
                                         use_torch=not args.no_torch, threads=args.threads))
        except ValueError as err:
            print(f"cnnkit bench: {err}", file=sys.stderr)
            return 2
        if args.runs > 1:
            print(f"run {k + 1}/{args.runs}:", file=sys.stderr)
        print(format_table(results[-1]))
    result = results[0]
    if args.runs > 1:
        summary = summarize_runs(results)
        print()
        print(format_summary(summary))
        result = {"runs": results, "summary": summary}
    if args.json:
        tmp = f"{args.json}.tmp{os.getpid()}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(result, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, args.json)
        except OSError as err:
            print(f"cnnkit bench: cannot write {args.json}: {err}", file=sys.stderr)
            return 1
        print(f"results written to {args.json}")
    return 0
