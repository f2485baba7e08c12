"""Small edits that turn a copy of the correct submission into a hostile one.

Hostile submissions are never retyped: each is the solution build of the
``cnn`` assignment with one function replaced, a statement added at module
level, or a file broken. These helpers do the editing.
"""
import ast
import json
import textwrap
from pathlib import Path


def _find(tree, qualname):
    """The (async) function or class node called ``qualname`` ("Class.method" allowed)."""
    body, node = tree.body, None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part), None)
        if node is None:
            raise LookupError(f"no {qualname} in the source")
        body = node.body
    return node


def replace_function(path, qualname, new_code):
    """Replace the definition of ``qualname`` in ``path`` by ``new_code`` (a full ``def``)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    node = _find(ast.parse("".join(lines)), qualname)
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    indent = " " * node.col_offset
    code = textwrap.indent(textwrap.dedent(new_code).strip("\n") + "\n", indent)
    lines[start:node.end_lineno] = [code]
    path.write_text("".join(lines), encoding="utf-8")


def append_code(path, code):
    """Add module-level ``code`` at the end of ``path`` (it runs when the module is imported)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n\n" + textwrap.dedent(code).strip("\n") + "\n",
                    encoding="utf-8")


def prepend_code(path, code):
    """Add module-level ``code`` before everything else in ``path`` (after the docstring)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    first = tree.body[0]
    at = first.end_lineno if isinstance(first, ast.Expr) and isinstance(
        getattr(first, "value", None), ast.Constant) else 0
    lines[at:at] = [textwrap.dedent(code).strip("\n") + "\n"]
    path.write_text("".join(lines), encoding="utf-8")


def edit_notebook_cell(path, grade_id, change):
    """Apply ``change(cells, index)`` to the cell whose nbgrader ``grade_id`` is ``grade_id``."""
    path = Path(path)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    index = next(i for i, c in enumerate(cells)
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    change(cells, index)
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
