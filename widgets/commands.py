"""``cnnkit widgets-export``: a notebook with widgets as an offline HTML page."""
import sys


def register(subparsers):
    from cnnkit.reference.command_line import positive_int
    parser = subparsers.add_parser(
        "widgets-export",
        help="export a notebook with its widgets to HTML that steps offline",
        description="Run NOTEBOOK, then write <its name>.html into OUT_DIR together with "
                    "require.js and @jupyter-widgets/html-manager/dist/ (installed with "
                    "cnnkit; no Node.js needed), so the page works without a kernel or "
                    "internet. Serve or copy OUT_DIR as a whole.")
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder for the page and its assets")
    parser.add_argument("--no-execute", action="store_true",
                        help="use the widget state saved in the notebook instead of running it")
    parser.add_argument("--timeout", type=positive_int, default=600,
                        help="seconds allowed per cell (default 600)")
    parser.set_defaults(func=run)


def run(args):
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    from .export import export_html
    try:
        page = export_html(args.notebook, args.out_dir, execute=not args.no_execute,
                           timeout=args.timeout)
    except (OSError, ValueError, RuntimeError, CellExecutionError, DeadKernelError) as err:
        print(f"cnnkit widgets-export: {err}", file=sys.stderr)
        return 1
    print(page)
    return 0
