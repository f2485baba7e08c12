"""The checks behind ``python -m utils.submit``, each returning plain data.

The checks that run your code do so in a fresh Python process started in your
homework folder (``python -m utils.submit_checks <what> <file>``), so nothing
left over in a notebook's kernel can make them pass: what they see is what the
grader will see.
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

RULES_FILE = Path(__file__).resolve().parent / "submission_rules.json"


def load_rules():
    """The grader's rules of a submission, shipped with the homework."""
    if not RULES_FILE.is_file():
        raise FileNotFoundError(f"{RULES_FILE} is missing: your copy of the homework is "
                                "incomplete; download it again")
    return json.loads(RULES_FILE.read_text())


def run_fresh(folder, what, payload, timeout):
    """Run ``what`` of this module on ``payload`` (sent as JSON) in a fresh Python in ``folder``.

    Returns its JSON answer, or ``{"error": why}`` when the process failed.
    """
    env = dict(os.environ, MPLBACKEND="Agg", CNNKIT_SMALL="1", PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run([sys.executable, "-m", "utils.submit_checks", what],
                              input=json.dumps(payload), cwd=folder, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = [line for line in done.stderr.strip().splitlines() if line.strip()][-1:]
        return {"error": f"the check process failed (exit {done.returncode}): "
                         f"{' '.join(tail) or 'no output'}"}
    return json.loads(lines[-1])


def one_line(err):
    """An exception as one line: its type and the first two lines of its message."""
    text = " ".join(str(err).strip().splitlines()[:2])
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


# ---------------------------------------------------------------- in the fresh process

def find_names(payload):
    """For each student file, whether it imports and which graded names it lacks."""
    import importlib
    found = {}
    for path, names in payload.items():
        module = path[:-3].replace("/", ".")
        try:
            loaded = importlib.import_module(module)
        except Exception as err:  # any error while importing is the student's to see
            found[path] = {"error": one_line(err)}
            continue
        found[path] = {"missing": [n for n in names if not callable(getattr(loaded, n, None))]}
    return found


def run_cells(cells):
    """Run notebook cells in order in one namespace; the outcome of each as data."""
    namespace, outcome = {"__name__": "__main__"}, {}
    for cell in cells:
        failed = [n for n in cell["needs"] if outcome.get(n, {}).get("status") != "passed"]
        if failed:
            cause = outcome[failed[0]].get("because", failed[0])
            outcome[cell["index"]] = {"status": "not run", "because": cause,
                                      "message": outcome[cause]["message"]}
            continue
        try:
            exec(compile(cell["source"], f"<cell {cell['index']}>", "exec"), namespace)
        except BaseException as err:  # noqa: B036 -- a check may raise anything, even SystemExit
            outcome[cell["index"]] = {"status": "failed", "message": one_line(err)}
        else:
            outcome[cell["index"]] = {"status": "passed", "message": ""}
    return {str(k): v for k, v in outcome.items()}


def check_checkpoint(payload):
    """Load the checkpoint with the student's model code; measure validation accuracy."""
    import numpy as np
    from utils.checkpoint import build_model, load_checkpoint
    try:
        params, spec = load_checkpoint(payload["base"])
        model = build_model(spec, params)
    except Exception as err:  # the student's model code or files are at fault
        return {"error": one_line(err)}
    answer = {"model": f"{spec.get('module')}.{spec.get('class')}"}
    from utils.data_utils import get_CIFAR10_data
    try:
        try:
            data = get_CIFAR10_data()
        except ValueError:  # fewer images than CIFAR-10 has: the notebooks' small split
            data = get_CIFAR10_data(num_training=500, num_validation=100, num_test=100)
    except Exception as err:  # no data on this machine is a fact, not a failure
        answer["no_data"] = one_line(err)
        return answer
    X, y = data["X_val"], data["y_val"]
    try:
        labels = np.concatenate([np.argmax(model.loss(X[i:i + 100]), axis=1)
                                 for i in range(0, len(X), 100)])
    except Exception as err:
        return {"error": f"the model loads but cannot score images: {one_line(err)}"}
    answer.update(accuracy=float(np.mean(labels == y)), images=int(len(y)))
    return answer


COMMANDS = {"names": find_names, "cells": run_cells, "checkpoint": check_checkpoint}


# ---------------------------------------------------------------- notebooks

def strip_magics(source):
    """A cell's code without IPython's ``%`` and ``!`` lines (plain Python runs the rest)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def _names(source):
    """(names a cell defines, names it reads) by a look at its syntax."""
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError:
        return set(), set()
    defined, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (defined if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    return defined, read - defined


def cell_plans(notebook):
    """The graded cells of ``notebook`` (a dict) with the earlier cells each needs.

    Returns ``(cells, skipped)``: the cells to run in order (``index``,
    ``name``, ``source``, ``graded``, ``needs``), and ``{name: why}`` of the
    graded cells that need the student's own notebook code (e.g. training)
    and so are not rerun.
    """
    code = [(i, c) for i, c in enumerate(notebook.get("cells", [])) if c.get("cell_type") == "code"]
    info = {}
    for i, cell in code:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell.get("source", ""))
        info[i] = dict(meta=meta, source=source, names=_names(source),
                       name=meta.get("grade_id") or f"cell {i + 1}")

    def providers(i):
        wanted, needs = set(info[i]["names"][1]), []
        for j in sorted((j for j in info if j < i), reverse=True):
            hit = wanted & info[j]["names"][0]
            if hit:
                needs.append(j)
                wanted -= hit
        return needs

    chosen, skipped = {}, {}
    for i in info:
        if not info[i]["meta"].get("grade"):
            continue
        todo, seen = [i], set()
        while todo:
            j = todo.pop()
            if j not in seen:
                seen.add(j)
                todo += providers(j)
        own = [info[j]["name"] for j in sorted(seen) if info[j]["meta"].get("solution")]
        if own:
            skipped[info[i]["name"]] = own[0]
            continue
        for j in seen:
            chosen[j] = {"index": j, "name": info[j]["name"],
                         "graded": bool(info[j]["meta"].get("grade")),
                         "source": strip_magics(info[j]["source"]), "needs": providers(j)}
    cells = [chosen[j] for j in sorted(chosen)]
    kept = {c["index"] for c in cells}
    for cell in cells:
        cell["needs"] = [j for j in cell["needs"] if j in kept]
    return cells, skipped


def order_problem(name, notebook):
    """Why ``notebook`` was not saved after running top to bottom, or ''."""
    last, last_cell = 0, None
    for number, cell in enumerate(notebook.get("cells", []), 1):
        source = "".join(cell.get("source", ""))
        # this check's own cell runs after the save, so it is never in the saved file
        if cell.get("cell_type") != "code" or not source.strip() or "utils.submit" in source:
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        number = f"{number} ({grade_id})" if grade_id else number
        count = cell.get("execution_count")
        if count is None:
            return (f"{name}: cell {number} was never run; Restart the kernel and Run All, "
                    "then save")
        if count <= last:
            return (f"{name}: cell {number} ran (execution count {count}) before cell "
                    f"{last_cell} above it ({last}); Restart and Run All, then save")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return (f"{name}: cell {number} ends with {output.get('ename')}: "
                        f"{output.get('evalue', '')[:200]}; fix it, Restart and Run All, then save")
        last, last_cell = count, number
    return ""


if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](json.loads(sys.stdin.read()))))
