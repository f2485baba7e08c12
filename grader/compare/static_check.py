"""Static check: naive functions must not lean on the kit's fast layers or reference.

Parses the student's module (never imports it) and reports, for each naive
function, every use of a name imported from a forbidden module
(``utils.fast_layers`` and its kernels, im2col helpers, ``cnnkit``,
``torch``) and every import or dynamic import inside the function. The
sandbox's run-time tripwire (:mod:`cnnkit.grader.sandbox.harness`) catches indirect
calls; this catches the rest without trusting anything the submission reports.
"""
import ast

from ..sandbox.harness import BLOCKED_PACKAGES, FAST_MODULES

#: the tripwire's modules, also by their bare names (``from fast_layers import ...``
#: next to them), and the packages a submission may not import
FORBIDDEN = tuple(sorted({*FAST_MODULES, *(m.rpartition(".")[2] for m in FAST_MODULES),
                          *BLOCKED_PACKAGES}))


def _forbidden(module):
    module = module or ""
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def imported_names(tree):
    """Top-level names bound to forbidden modules: ``{name: 'module.attr'}``."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden(alias.name):
                    names[(alias.asname or alias.name).split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if _forbidden(module) or _forbidden(full):
                    names[alias.asname or alias.name] = full
    return names


def violations(source, functions):
    """``{function: [reasons]}`` for each function in ``functions`` that uses forbidden code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}  # the sandbox reports syntax errors with their line
    bad = imported_names(tree)
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name not in functions:
            continue
        reasons = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in bad:
                reasons.append(f"uses {sub.id} (from {bad[sub.id]})")
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                mods = ([a.name for a in sub.names] if isinstance(sub, ast.Import)
                        else [sub.module or ""])
                if any(_forbidden(m) for m in mods):
                    reasons.append(f"imports {', '.join(mods)}")
            elif (isinstance(sub, ast.Name) and sub.id == "__import__") or (
                    isinstance(sub, ast.Attribute) and sub.attr == "import_module"):
                reasons.append("imports a module dynamically")
        if reasons:
            found[node.name] = sorted(set(reasons))
    return found
