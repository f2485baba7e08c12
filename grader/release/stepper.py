"""The release's step-through helper: ``cnnkit.widgets`` modules, copied at build time.

``assignment.json``'s ``stepper`` entry names the release package (``dir``)
and the module of ``cnnkit.widgets`` the students call (``entry``, whose
functions ``__init__.py`` re-exports); every widgets module it reaches by
relative imports is copied, never retyped, with the files beside it that
share its name (its assets, e.g. ``imagescale.js``). Imports of ``cnnkit.reference``
are rewritten to the release's derived copies (``cnnkit.reference.checks`` ->
``nndl.checks``). The naive layers are the students' own work and are not in
the release, so ``substitute`` names the reference function standing in for
each (the fast layers, which the release ships and which compute the same
values).
"""
import ast
import importlib
import importlib.util
from pathlib import Path

from .layout import LAYOUT_FILE, AssignError

def widgets_dir():
    """Folder of the installed :mod:`cnnkit.widgets` package."""
    return Path(importlib.util.find_spec("cnnkit.widgets").origin).parent


def _reachable(entry, source):
    """Module names of the widgets package reachable from ``entry`` by relative imports."""
    found, todo = [], [entry]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = source / f"{name}.py"
        if not path.is_file():
            raise AssignError(f"the stepper needs cnnkit.widgets.{name}, not found at {path}")
        found.append(name)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                todo += [node.module] if node.module else [a.name for a in node.names]
    return sorted(found)


def _release_module(ref_module, derived):
    """Release module name of ``cnnkit.reference.<ref_module>``, or None if not shipped."""
    for release_path, ref_file in derived.items():
        if Path(ref_file).stem == ref_module and release_path.endswith(".py"):
            return release_path[:-3].replace("/", ".")
    return None


def _origin(name, substitute):
    """``(reference module, reference name)`` that ``cnnkit.reference.<name>`` comes from."""
    if name in substitute:
        module, _, attr = substitute[name].rpartition(".")
        return module, attr
    value = getattr(importlib.import_module("cnnkit.reference"), name, None)
    module = getattr(value, "__module__", "") or ""
    if not module.startswith("cnnkit.reference."):
        raise AssignError(f"the stepper imports cnnkit.reference.{name}, whose module is unknown; "
                          f"add it to 'substitute' in {LAYOUT_FILE}")
    return module.rpartition(".")[2], name


def _rewrite(node, module_name, derived, substitute):
    """Release import lines replacing one ``from cnnkit.reference... import`` statement."""
    indent = " " * node.col_offset
    lines = []
    for alias in node.names:
        local = alias.asname or alias.name
        if node.module == "cnnkit.reference":
            ref_module, attr = _origin(alias.name, substitute)
        else:
            ref_module, attr = node.module.split(".")[2], alias.name
        release = _release_module(ref_module, derived)
        if release is None:
            raise AssignError(
                f"cnnkit.widgets.{module_name} imports {attr} from cnnkit.reference.{ref_module}, "
                f"which the release does not ship; add it to 'derived' or the stepper's "
                f"'substitute' in {LAYOUT_FILE}")
        suffix = f" as {local}" if local != attr else ""
        lines.append(f"{indent}from {release} import {attr}{suffix}")
    return lines


def release_text(module_name, text, derived, substitute):
    """Text of ``cnnkit.widgets.<module_name>`` with its cnnkit imports made release imports."""
    tree = ast.parse(text)
    lines = text.split("\n")
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "cnnkit" for a in node.names):
            raise AssignError(f"cnnkit.widgets.{module_name}:{node.lineno}: `import cnnkit...` "
                              "cannot be rewritten for the release; use `from ... import`")
        if isinstance(node, ast.ImportFrom) and node.level == 0 and \
                (node.module or "").split(".")[0] == "cnnkit":
            if not (node.module == "cnnkit.reference" or
                    node.module.startswith("cnnkit.reference.")) or node.module.count(".") > 2:
                raise AssignError(f"cnnkit.widgets.{module_name}:{node.lineno} imports "
                                  f"{node.module}; the release ships only cnnkit.reference's "
                                  "derived files")
            edits.append((node.lineno, node.end_lineno,
                          _rewrite(node, module_name, derived, substitute)))
    for start, end, new in sorted(edits, reverse=True):
        lines[start - 1:end] = new
    header = (f"# Generated from cnnkit.widgets.{module_name} (widgets/{module_name}.py) by "
              "`cnnkit assign`; do not edit.\n")
    return header + "\n".join(lines)


def _init_text(entry, source):
    """The release package's ``__init__.py``: the entry module's public functions."""
    tree = ast.parse((source / f"{entry}.py").read_text())
    names = sorted(n.name for n in tree.body
                   if isinstance(n, ast.FunctionDef) and not n.name.startswith("_"))
    doc = ast.get_docstring(tree) or ""
    return (f'"""{doc.splitlines()[0] if doc else "Step-through views."}\n\nGenerated from '
            f'cnnkit.widgets.{entry} by `cnnkit assign`; do not edit.\n"""\n'
            f"from .{entry} import {', '.join(names)}\n")


def stepper_files(layout, source=None):
    """``{release path: bytes}`` of the release's stepper package (empty without one)."""
    config = layout.get("stepper")
    if not config:
        return {}
    source = Path(source or widgets_dir())
    target = config["dir"].rstrip("/")
    files = {f"{target}/__init__.py": _init_text(config["entry"], source).encode()}
    for name in _reachable(config["entry"], source):
        text = (source / f"{name}.py").read_text()
        files[f"{target}/{name}.py"] = release_text(
            name, text, layout["derived"], config["substitute"]).encode()
        # a module's own assets share its name (imagescale.py reads imagescale.js)
        for asset in sorted(source.glob(f"{name}.*")):
            if asset.suffix != ".py" and asset.is_file():
                files[f"{target}/{asset.name}"] = asset.read_bytes()
    return files
