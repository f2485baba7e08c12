"""The hidden cases and their expected values, computed once per process.

Hidden cases are the same for every student of a course, so the run step, the
compare step and the batch's worker processes share them: :func:`snapshot`
computes every case and value in the parent, :func:`install` hands them to a
worker so it starts with them.
"""
from .expected import compute_expected

_CASES = {}
_EXPECTED = {}


def cases_for(ctx, group):
    """The hidden cases of ``group`` for this course's secret."""
    key = (ctx.assignment.name, ctx.secret.key, group)
    if key not in _CASES:
        g = ctx.assignment.group(group)
        _CASES[key] = [ctx.assignment.make_case(ctx.secret.key, group, i)
                       for i in range(g.n_cases)]
    return _CASES[key]


def expected_for(assignment, secret_key, group, index):
    """:func:`~.expected.compute_expected` of case ``index`` of ``group``.

    Keyed by the assignment's name (not the object: each student's context
    reaches a worker process as a new copy).
    """
    key = (assignment.name, secret_key, group, index)
    if key not in _EXPECTED:
        _EXPECTED[key] = compute_expected(assignment.make_case(secret_key, group, index))
    return _EXPECTED[key]


def snapshot(ctx):
    """Every case and expected value of the batch's assignment, as plain data."""
    for g in ctx.assignment.groups:
        for case in cases_for(ctx, g.name):
            expected_for(ctx.assignment, ctx.secret.key, g.name, case.index)
    return dict(_CASES), dict(_EXPECTED)


def install(cases, expected):
    """Start this process with a :func:`snapshot` taken elsewhere (a pool initializer)."""
    _CASES.update(cases)
    _EXPECTED.update(expected)


def export_expected(ctx):
    """``{(group, index): expected}`` of the batch's assignment: every value, no secret in it.

    What a cluster worker receives once per batch (:func:`import_expected`): it holds the
    course secret itself, so the key never travels with the values.
    """
    snapshot(ctx)
    name, key = ctx.assignment.name, ctx.secret.key
    return {(g, i): value for (n, k, g, i), value in _EXPECTED.items() if (n, k) == (name, key)}


def import_expected(ctx, table):
    """Install an :func:`export_expected` table for ``ctx`` (its assignment and secret)."""
    for (group, index), value in table.items():
        _EXPECTED[ctx.assignment.name, ctx.secret.key, group, index] = value
