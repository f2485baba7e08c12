"""Solution and hidden-test regions of an assignment's ``.py`` files.

In the release each ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes a
``raise NotImplementedError("Implement <function> in <file>: <what>.")`` stub;
hidden-test regions are removed in every build; no marker may reach a release.
"""
import ast

from .layout import AssignError

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
#: strings that must never reach a student release
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _functions(tree):
    """(qualname, first line, last line, docstring) of every function, outer ones first."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((name, child.lineno, child.end_lineno,
                                  ast.get_docstring(child) or ""))
                visit(child, name + ".")
    visit(tree, "")
    return found


def _stub_message(functions, line, relpath):
    """Message of the NotImplementedError replacing the region starting at ``line``."""
    enclosing = [f for f in functions if f[1] < line <= f[2]]
    if not enclosing:
        raise AssignError(f"{relpath}:{line}: a solution region must be inside a function "
                          "(its stub raises NotImplementedError naming that function)")
    qualname, _, _, doc = max(enclosing, key=lambda f: f[1])
    summary = doc.strip().split("\n\n")[0].replace("\n", " ").strip().rstrip(".")
    what = (summary[:1].lower() + summary[1:]) if summary else "see the comments around this stub"
    return qualname, f"Implement {qualname} in {relpath}: {what}."


def strip_regions(text, relpath, solutions):
    """Process the solution and hidden-test regions of one ``.py`` file.

    Parameters
    ----------
    text : the source file's text.
    relpath : its path in the assignment (for messages), e.g. ``nndl/cnn.py``.
    solutions : keep the solution code (dropping only the marker lines) if
        True; otherwise replace each region with ``# YOUR CODE HERE`` and a
        ``raise NotImplementedError("Implement <function> in <file>: <what>.")``
        at the region's indentation, ``<what>`` being the first sentence of the
        function's docstring.

    Returns
    -------
    (new text, {qualname: message} of the stubs written).

    Hidden-test regions are removed in both modes.
    """
    try:
        functions = _functions(ast.parse(text, filename=relpath))
    except SyntaxError as err:
        raise AssignError(f"{relpath}:{err.lineno}: not valid Python: {err.msg}") from err
    out, stubs, region = [], {}, None
    for number, line in enumerate(text.split("\n"), 1):
        marker = line.strip()
        if marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if region:
                raise AssignError(f"{relpath}:{number}: {marker!r} inside the region opened "
                                  f"at line {region[1]}; regions cannot nest")
            region = (marker, number)
            if marker == BEGIN_SOLUTION and not solutions:
                indent = line[:len(line) - len(line.lstrip())]
                qualname, message = _stub_message(functions, number, relpath)
                stubs[qualname] = message
                out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({message!r})"]
        elif marker in (END_SOLUTION, END_HIDDEN):
            expected = BEGIN_SOLUTION if marker == END_SOLUTION else BEGIN_HIDDEN
            if not region or region[0] != expected:
                raise AssignError(f"{relpath}:{number}: {marker!r} without a matching {expected!r}")
            region = None
        elif any(m in line for m in LEAK_MARKERS):
            raise AssignError(f"{relpath}:{number}: malformed region marker (write it alone on "
                              f"its line, e.g. {BEGIN_SOLUTION!r}): {line.strip()}")
        elif region is None or (region[0] == BEGIN_SOLUTION and solutions):
            out.append(line)
    if region:
        raise AssignError(f"{relpath}:{region[1]}: {region[0]!r} is never closed")
    new_text = "\n".join(out)
    try:
        ast.parse(new_text, filename=relpath)
    except SyntaxError as err:
        raise AssignError(f"{relpath}: the processed file is not valid Python (line "
                          f"{err.lineno}: {err.msg}); check the region markers' indentation") from err
    return new_text, stubs


def check_no_leak(relpath, data):
    """Raise AssignError if a region marker is left in a release file's ``data``."""
    text = data.decode("utf-8", errors="replace")
    for marker in LEAK_MARKERS:
        if marker in text:
            line = text[:text.index(marker)].count("\n") + 1
            raise AssignError(f"{relpath}:{line} still contains {marker!r} after processing; "
                              "the release would leak it")
