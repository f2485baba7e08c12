"""Export a notebook with its widgets to a static HTML page that works offline.

``jupyter nbconvert --to html`` stores the widget state but by default loads
the widget JavaScript from a CDN, so offline nothing renders. Here the page
loads ``require.js`` and ``@jupyter-widgets/html-manager/dist/embed-amd.js``
from its own folder, and both are copied there, with their licences, from the
``assets`` folder of this package: the npm packages pinned in
``widgets/package-lock.json``, fetched when cnnkit is built (no Node.js or npm
needed here).
"""
import os
import re
import shutil
from importlib.resources import files
from pathlib import Path

import nbformat

MANAGER = Path("@jupyter-widgets", "html-manager", "dist")
RENDERER_URL = (MANAGER / "embed-amd.js").as_posix()
FONT_SUFFIXES = (".woff", ".woff2", ".ttf", ".eot", ".svg")
#: licence files copied beside the JavaScript they cover (those the assets folder holds)
LICENCES = ("THIRD-PARTY-NOTICES.txt", "@jupyter-widgets/html-manager/LICENSE",
            "@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt",
            "requirejs/package.json")
# A script or stylesheet the page would fetch from another host.
REMOTE_LOAD = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']((?:https?:)?//[^\"']+)")


def _have_assets(node_modules):
    return ((node_modules / MANAGER / "embed-amd.js").is_file()
            and (node_modules / "requirejs" / "require.js").is_file())


def packaged_assets():
    """The ``assets`` folder installed with :mod:`cnnkit.widgets` (may be missing)."""
    return Path(str(files("cnnkit.widgets"))) / "assets"


def ensure_assets(assets=None):
    """Return the ``node_modules``-like folder holding the widget JavaScript.

    Uses ``$CNNKIT_WIDGET_ASSETS`` if set, else ``assets`` (default: the folder
    installed with cnnkit, see :func:`packaged_assets`).
    """
    override = os.environ.get("CNNKIT_WIDGET_ASSETS")
    if override:
        if not _have_assets(Path(override)):
            raise FileNotFoundError(
                f"CNNKIT_WIDGET_ASSETS={override} has no {MANAGER / 'embed-amd.js'} and "
                "requirejs/require.js; point it at a node_modules folder or unset it")
        return Path(override)
    assets = Path(assets) if assets is not None else packaged_assets()
    if not _have_assets(assets):
        raise FileNotFoundError(
            f"the widget JavaScript is missing from this cnnkit install ({assets} has no "
            f"{MANAGER / 'embed-amd.js'} and requirejs/require.js): it is fetched when cnnkit "
            "is built, so reinstall cnnkit (`pip install -e .` in a checkout), or point "
            "CNNKIT_WIDGET_ASSETS at a node_modules folder holding both packages")
    return assets


def copy_assets(out_dir, node_modules):
    """Copy ``require.js`` and the html-manager bundle with its fonts and licences into ``out_dir``.

    The bundle goes to ``@jupyter-widgets/html-manager/dist/``. Its font files
    go to ``@jupyter-widgets/``: the bundle resolves them against the URL of
    the AMD module ``@jupyter-widgets/controls``, which require.js places at
    ``<page folder>/@jupyter-widgets/controls.js``.
    """
    out_dir = Path(out_dir)
    shutil.copy2(node_modules / "requirejs" / "require.js", out_dir / "require.js")
    bundle, fonts = out_dir / MANAGER, out_dir / MANAGER.parts[0]
    bundle.mkdir(parents=True, exist_ok=True)
    shutil.copy2(node_modules / MANAGER / "embed-amd.js", bundle / "embed-amd.js")
    for src in (node_modules / MANAGER).iterdir():
        if src.suffix in FONT_SUFFIXES:
            shutil.copy2(src, fonts / src.name)
    for relpath in LICENCES:
        if (node_modules / relpath).is_file():
            (out_dir / relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(node_modules / relpath, out_dir / relpath)


def _read(notebook):
    path = Path(notebook)
    if path.suffix != ".ipynb":
        raise ValueError(f"notebook must be an .ipynb file, got {notebook}")
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {notebook}")
    return path, nbformat.read(path, as_version=4)


def export_html(notebook, out_dir, execute=True, timeout=600, kernel_name="python3"):
    """Write ``notebook`` as an offline HTML page with working widgets.

    Parameters
    ----------
    notebook : path of an ``.ipynb`` file.
    out_dir : folder for ``<notebook name>.html``, ``require.js`` and
        ``@jupyter-widgets/html-manager/dist/``; created if missing. Copy or
        serve the folder as a whole.
    execute : run the notebook first (in its own folder) so the widget state
        is stored; with ``execute=False`` the saved widget state is used.
    timeout : seconds allowed per cell.
    kernel_name : Jupyter kernel to run it with.

    Returns
    -------
    pathlib.Path of the written page.
    """
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    path, nb = _read(notebook)
    node_modules = ensure_assets()
    if execute:
        from nbclient import NotebookClient
        NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, store_widget_state=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    if "widgets" not in nb.metadata:
        raise ValueError(f"{notebook} has no saved widget state: run it with execute=True "
                         "(or save it with widget state from Jupyter)")
    config = Config()
    config.HTMLExporter.require_js_url = "require.js"
    config.HTMLExporter.widget_renderer_url = RENDERER_URL
    config.HTMLExporter.mathjax_url = ""
    body, _ = HTMLExporter(config=config).from_notebook_node(nb)
    remote = REMOTE_LOAD.findall(body)
    if remote:
        raise RuntimeError(f"the exported page would still load {', '.join(remote)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(out_dir, node_modules)
    page = out_dir / (path.stem + ".html")
    page.write_text(body, encoding="utf-8")
    return page
