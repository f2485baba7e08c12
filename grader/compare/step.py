"""Pipeline step "compare": turn what the sandbox returned into verdicts.

Everything here runs in the parent, in float64, against the reference
(:mod:`cnnkit.grader.testbank.expected`). Outputs are checked for shape and finiteness
first; then values, with a tolerance relative to the largest expected value.
A backward pass must match the reference gradients and the grader's own
numerical gradients. When the student's forward is itself wrong for a case,
conv and pooling backwards are also tried on the cache their docstrings
prescribe, and a batch-norm backward is checked as the derivative of the
student's own forward (directional differences of that forward, credited only
when that forward passes some forward case), so one bug is not paid for twice. Messages name the case, the array, the index, expected and got.
"""
import numpy as np

from cnnkit.reference.closeness import difference, form_note, same_when_broadcast

from ..testbank.cases import H
from ..context import CaseResult, GroupResult
from ..testbank.cache import cases_for, expected_for
from ..testbank.groups import FULL_ACCURACY
from ..files import is_regular
from .static_check import violations

#: largest error allowed, relative to the largest expected magnitude
TOL = 1e-6
#: the same for a gradient against centred differences (their own error is about H**2)
NUMERICAL_TOL = 1e-5
#: tolerance of the directional derivative check of a student's own forward
DIRECTIONAL_TOL = 1e-5
#: a directional derivative smaller than this does not show that the forward moved
MOVED = 1e-6
#: magnitudes below this count as this, so that all-zero values still have a scale
TINY = 1e-8


def mismatch(name, got, want, tol=TOL, notes=None):
    """Why ``got`` is not ``want`` (a message), or '' when it is close enough.

    A harmless difference of form (:mod:`cnnkit.reference.closeness`) is not a
    mismatch: the values are compared in the documented form and, when they
    pass, a note saying so is appended to ``notes`` (a list, if given).
    """
    got = np.asarray(got)
    note = form_note(name, got, want)
    want = np.asarray(want, dtype=np.float64)
    scale = max(float(np.abs(want).max()), TINY) if want.size else TINY
    diff = difference(got, want, rtol=0.0, atol=tol * scale)
    if diff is None:
        if note and notes is not None:
            notes.append(f"{note}; the values are right, so it earns the points (return the "
                         "documented form to be safe)")
        return ""
    if diff.kind == "shape":
        return f"{name} has shape {got.shape}, expected {want.shape}"
    got = diff.actual
    if diff.kind == "not-finite":
        return f"{name}{list(diff.index)} is {got[diff.index]} (not a finite number)"
    err = np.abs(got - want)
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    where = f"{name}{list(int(i) for i in idx)}" if got.ndim else name
    return (f"{where} is {got[idx]:.6g}, expected {want[idx]:.6g} "
            f"(largest error {err.max() / scale:.1e} of the largest expected value)")


def own_forward_consistent(case, outputs):
    """'' if the backward is the derivative of the student's own forward, else why not."""
    dout = case.arrays["dout"]
    moved = False
    for name, gname in zip(case.call["wrt"], case.call["grads"]):
        k = 0
        while f"dir_{name}_{k}" in case.arrays:
            plus, minus = outputs.get(f"fplus_{name}_{k}"), outputs.get(f"fminus_{name}_{k}")
            if plus is None or minus is None or plus.shape != dout.shape or minus.shape != dout.shape:
                return "your forward's output has the wrong shape"
            numeric = float(np.sum(dout * (plus.astype(float) - minus.astype(float))) / (2 * H))
            analytic = float(np.sum(outputs[gname].astype(float) * case.arrays[f"dir_{name}_{k}"]))
            scale = max(abs(numeric), abs(analytic), TINY)
            if not np.isfinite(numeric + analytic) or abs(numeric - analytic) > DIRECTIONAL_TOL * scale:
                return (f"{gname} is not the derivative of your own forward either "
                        f"(directional derivative {analytic:.6g}, numerically {numeric:.6g})")
            moved = moved or abs(numeric) > MOVED
            k += 1
    return "" if moved else "your forward does not depend on its inputs"


def gradients_problem(case, outputs, expected, prefix="", notes=None):
    """Why the gradients ``prefix + name`` in ``outputs`` are wrong, or ''."""
    for gname in case.call["grads"]:
        if prefix + gname not in outputs:
            return f"no {gname} returned"
        got = outputs[prefix + gname]
        problem = mismatch(gname, got, expected[gname], notes=notes)
        numeric = expected["numerical"][gname]
        if not problem and not mismatch(gname, expected[gname], numeric, tol=NUMERICAL_TOL):
            problem = mismatch(f"{gname} (vs. the numerical gradient)", got, numeric,
                               tol=NUMERICAL_TOL)
        if problem:
            return problem
    return ""


def check_layer(case, outputs, expected, forward_passes=True, notes=None):
    """Verdict (status, message) of a layer case.

    A backward passes when its gradients match, computed from the student's
    own forward cache or (conv and pooling) from the cache the docstring
    prescribes. Batch norm's cache is the student's own design, so when the
    student's forward is wrong for the case, its backward passes if it is the
    exact derivative of that forward, but only if the forward passes at least
    one forward case (``forward_passes``): a fake forward with its fake
    derivative earns nothing.
    """
    problem = (mismatch("out", outputs.get("out"), expected["out"], notes=notes)
               if "out" in outputs else "no output")
    if not case.call.get("backward"):
        for key in ("after_running_mean", "after_running_var"):
            if not problem and key in expected:
                problem = mismatch(f"bn_param['{key[6:]}'] after the call",
                                   outputs.get(key, np.array([])), expected[key], notes=notes)
        return ("failed", problem) if problem else ("passed", "")
    forward_wrong = problem
    problem = gradients_problem(case, outputs, expected, notes=notes)
    if problem and case.call.get("canonical_cache") is not None and \
            not gradients_problem(case, outputs, expected, prefix="canonical_", notes=notes):
        return "passed", ""
    if not problem:
        return "passed", ""
    if not forward_wrong or not case.call.get("forward_group"):
        return "failed", problem
    if not forward_passes:
        return "failed", (f"{problem}; your forward is also wrong here ({forward_wrong}) and "
                          f"fails every {case.call['forward_group']} case")
    own = (own_forward_consistent(case, outputs)
           if all(g in outputs for g in case.call["grads"]) else "no gradients")
    if not own:
        return "passed", (f"your forward is wrong for this case ({forward_wrong}), but this "
                          "backward is the correct derivative of your forward, so it earns its credit")
    return "failed", f"{problem}; your forward is also wrong here ({forward_wrong}) and {own}"


def init_std_bounds(weight_scale, n):
    """Accepted range of the sample std of ``n`` weights drawn from N(0, weight_scale**2).

    The sample std's relative spread is about ``1/sqrt(2n)``; five such spreads
    either side make a correct initialisation fail with negligible probability
    (under 1e-5 even for a handful of weights), while a forgotten scale or zero
    weights still fail.
    """
    spread = 5 / np.sqrt(2 * n)
    return weight_scale * max(0.05, 1 - spread), weight_scale * (1 + spread)


def check_model(case, outputs, expected, notes=None):
    kind, kw = case.call["kind"], case.call["kwargs"]
    if kind == "model_init":
        for key, want in expected.items():
            got = outputs.get(key)
            name = f"params['{key[6:]}']"
            if got is None:
                return "failed", f"{name} is missing after ThreeLayerConvNet(...)"
            if not same_when_broadcast(got.shape, want.shape):
                return "failed", f"{name} has shape {got.shape}, expected {want.shape}"
            note = form_note(name, got, want)
            if note and notes is not None:
                notes.append(f"{note}; it earns the points (use the documented form to be safe)")
            if key[6] == "b" and np.any(got != 0):
                return "failed", f"{name} should start at zero"
            if key[6] == "W":
                std, ws = float(np.std(got)), kw["weight_scale"]
                low, high = init_std_bounds(ws, got.size)
                if not low <= std <= high:
                    return "failed", (f"{name} has standard deviation {std:.3g}; with "
                                      f"weight_scale={ws} it should be about {ws}")
        return "passed", ""
    if kind == "model_scores":
        problem = mismatch("scores", outputs.get("scores", np.array([])), expected["scores"],
                           notes=notes)
        return ("failed", problem) if problem else ("passed", "")
    problem = mismatch("loss", outputs.get("loss", np.array([])), expected["loss"], notes=notes)
    hint = (f" (reg={kw['reg']}: the loss needs 0.5*reg*sum(W**2) for W1, W2 and W3, and "
            "each grads['Wk'] needs reg*Wk)") if kw["reg"] else ""
    if problem:
        return "failed", problem + hint
    for key in expected["numerical"]:
        name = f"grads['{key[5:]}']"
        if key not in outputs:
            return "failed", f"{name} is missing"
        problem = (mismatch(name, outputs[key], expected[key], notes=notes)
                   or mismatch(f"{name} (vs. the numerical gradient)", outputs[key],
                               expected["numerical"][key], tol=NUMERICAL_TOL))
        if problem:
            return "failed", problem + (hint if key[5] == "W" else "")
    return "passed", ""


def check_predict(ctx, outputs):
    labels = outputs.get("labels")
    want = np.asarray(ctx.heldout.labels)
    if labels is None or labels.shape != want.shape:
        shape = None if labels is None else labels.shape
        return "failed", f"predicted labels have shape {shape}, expected {want.shape}", 0.0
    accuracy = float(np.mean(labels.astype(np.int64) == want))
    status = "passed" if accuracy >= FULL_ACCURACY else "failed"
    return status, (f"accuracy {accuracy:.1%} on {want.size} held-out CIFAR-10 test images "
                    f"({FULL_ACCURACY:.0%} earns full points)"), accuracy


def verdict(ctx, case, run, passing_groups=frozenset()):
    """The :class:`CaseResult` of one case (``passing_groups``: groups with a passed case)."""
    if run.status != "ok":
        return CaseResult(case.group, case.index, run.status, f"case {case.index}: {run.message}",
                          kinds=case.kinds)
    value = None
    if case.call["kind"] == "predict":
        status, message, value = check_predict(ctx, run.outputs)
    else:
        expected = expected_for(ctx.assignment, ctx.secret.key, case.group, case.index)
        notes = []   # harmless differences of form, reported when the case passes
        if case.call["kind"] == "layer":
            status, message = check_layer(case, run.outputs, expected,
                                          case.call.get("forward_group") in passing_groups,
                                          notes)
        else:
            status, message = check_model(case, run.outputs, expected, notes)
        if status == "passed" and notes:
            message = "; ".join(list(dict.fromkeys(notes)) + ([message] if message else []))
    if message or status != "passed":
        message = f"case {case.index} ({case.describe}): {message}"
    return CaseResult(case.group, case.index, status, message, value, case.kinds)


def rule_breaks(ctx, work, group, run):
    """Why a naive group earns nothing (fast layers or the kit used), or ''."""
    if not group.naive:
        return ""
    hits = sorted({h for c in run.cases for h in c.tripwire})
    reasons = [f"called {h} while being tested" for h in hits]
    path = work.submission.folder / group.module_file
    try:
        source = path.read_text(encoding="utf-8", errors="replace") if is_regular(path) else ""
    except OSError:
        source = ""
    for fn, why in violations(source, {group.name}).items():
        reasons += [f"{fn} {w}" for w in why]
    if not reasons:
        return ""
    return (f"no credit for {group.name}: a naive function must compute its result with its "
            f"own loops, not the kit's fast layers or reference ({'; '.join(reasons)})")


def run(ctx, work):
    """Step: one :class:`GroupResult` per group, with a verdict per case."""
    work.groups = []
    passing = set()
    for g in ctx.assignment.groups:  # forward groups come before their backward groups
        raw = work.raw[g.name]
        cases = cases_for(ctx, g.name)
        result = GroupResult(g.name, g.points, seconds=raw.seconds)
        result.cases = [verdict(ctx, c, r, frozenset(passing)) for c, r in zip(cases, raw.cases)]
        if any(c.status == "passed" for c in result.cases):
            passing.add(g.name)
        result.note = rule_breaks(ctx, work, g, raw)
        result.no_credit = bool(result.note)
        work.groups.append(result)
    return work
