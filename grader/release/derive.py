"""Files of the release derived from :mod:`cnnkit.reference`, never retyped.

Each is the reference module's text with a "do not edit" header and its
relative imports rewritten for its place in the release (``from .layers import
x`` bound for ``utils/`` becomes ``from nndl.layers import x``).
"""
import importlib.util
import re
from pathlib import Path

from .layout import LAYOUT_FILE, AssignError


def reference_dir():
    """Folder of the installed :mod:`cnnkit.reference` package."""
    spec = importlib.util.find_spec("cnnkit.reference")
    return Path(spec.origin).parent


# ---------------------------------------------------------------- imports

_RELATIVE = re.compile(r"^(?P<indent>[ \t]*)from[ \t]+(?P<dots>\.+)(?P<mod>[\w.]*)[ \t]+"
                       r"(?P<kw>c?import)[ \t]+(?P<names>.+)$")
_ABSOLUTE = re.compile(r"^[ \t]*(from|import)[ \t]+cnnkit\b")


def _module_targets(derived):
    """Reference module name -> (release package, release module name)."""
    targets = {}
    for release_path, ref_file in derived.items():
        package, _, filename = release_path.rpartition("/")
        targets[Path(ref_file).stem] = (package.replace("/", "."), Path(filename).stem)
    return targets


def _import_line(indent, package, here, module, names, kw):
    """One import of ``names`` from release module ``package.module``, seen from ``here``."""
    origin = f".{module}" if package == here else f"{package}.{module}"
    return f"{indent}from {origin} {kw} {names}"


def rewrite_imports(text, ref_file, release_path, derived):
    """Rewrite a reference module's relative imports for its place in the release.

    ``from .layers import x`` in a file bound for ``utils/`` becomes
    ``from nndl.layers import x``; within one package it stays relative (with
    the release's module name, e.g. ``data`` -> ``data_utils``). Raises
    AssignError for an import of a module the release does not ship.
    """
    targets = _module_targets(derived)
    here = release_path.rpartition("/")[0].replace("/", ".")
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
        if _ABSOLUTE.match(line):
            raise AssignError(f"reference/{ref_file}:{number} imports cnnkit by absolute name; "
                              f"the release cannot ship it: {line.strip()}")
        match = _RELATIVE.match(line)
        if not match:
            lines.append(line)
            continue
        indent, mod, kw, names = match["indent"], match["mod"], match["kw"], match["names"]
        multi_line = names.strip().startswith("(") and ")" not in names
        if match["dots"] != "." or "." in mod or (multi_line and not mod):
            raise AssignError(f"reference/{ref_file}:{number}: cannot rewrite this import for "
                              f"the release (use one line, `from .module import names`): "
                              f"{line.strip()}")
        if mod:
            if mod not in targets:
                raise AssignError(
                    f"reference/{ref_file}:{number} imports .{mod}, which the release does not "
                    f"ship; add it to 'derived' in {LAYOUT_FILE} or remove the import")
            package, module = targets[mod]
            lines.append(_import_line(indent, package, here, module, names, kw))
            continue
        for name in (n.strip() for n in names.split(",")):
            imported, _, alias = (part.strip() for part in name.partition(" as "))
            if imported not in targets:
                raise AssignError(
                    f"reference/{ref_file}:{number} imports .{imported}, which the release does "
                    f"not ship; add it to 'derived' in {LAYOUT_FILE} or remove the import")
            package, module = targets[imported]
            alias = alias or imported
            suffix = "" if alias == module else f" as {alias}"
            origin = "." if package == here else package
            lines.append(f"{indent}from {origin} import {module}{suffix}")
    return "\n".join(lines)


def derived_text(ref_file, release_path, derived, ref_dir=None):
    """Text of the release file ``release_path`` derived from ``reference/<ref_file>``."""
    path = Path(ref_dir or reference_dir()) / ref_file
    if not path.is_file():
        raise AssignError(f"{LAYOUT_FILE} derives {release_path} from reference/{ref_file}, "
                          f"which does not exist ({path})")
    module = "cnnkit.reference." + Path(ref_file).stem
    header = (f"# Generated from {module} ({ref_file}) by `cnnkit assign`; do not edit.\n"
              "# Change the reference and regenerate instead.\n")
    return header + rewrite_imports(path.read_text(), ref_file, release_path, derived)
