"""Pipeline step "score": points per group from the case verdicts.

A group's score is its points times the fraction of its cases that passed,
and zero when the group broke a rule (``GroupResult.no_credit``). The
accuracy group gives partial credit: full points at 65% or more, none at
chance (10%), linear in between.
"""
from ..testbank.groups import FULL_ACCURACY

CHANCE = 0.10


def accuracy_credit(accuracy):
    """Fraction of the accuracy group's points earned at ``accuracy`` (0..1)."""
    if accuracy >= FULL_ACCURACY:
        return 1.0
    return max(0.0, (accuracy - CHANCE) / (FULL_ACCURACY - CHANCE))


def group_score(group):
    """Points earned by one :class:`GroupResult`."""
    if group.no_credit or not group.cases:
        return 0.0
    if len(group.cases) == 1 and group.cases[0].value is not None:
        return round(group.max_score * accuracy_credit(group.cases[0].value), 2)
    passed = sum(c.status == "passed" for c in group.cases)
    return round(group.max_score * passed / len(group.cases), 2)


def run(ctx, work):
    """Step: set ``score`` on every group of ``work``."""
    for group in work.groups:
        group.score = group_score(group)
    return work
