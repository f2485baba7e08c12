"""What the class report counts, from the students' records (``grade.json``) alone.

Pass rates per kind of hidden case use the kinds each case recorded (what the
case varies: "stride 3", "pad 0", "overlapping windows"; see
:mod:`cnnkit.grader.testbank.cases`); failure messages are grouped once the numbers,
indices and shapes in them are replaced by placeholders, so the same mistake
on different cases and students lands in one group.
"""
import re
from collections import Counter
from dataclasses import dataclass, field

#: "case 3 (x (2, 3, 5, 5), ...): " or "case 3: " in front of every case message
_CASE_PREFIX = re.compile(r"^case \d+(?: \(.*?\))?: ")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.])", re.I)
_TUPLE = re.compile(r"\((?:#|…)(?:, ?(?:#|…))*,?\)")
_LIST = re.compile(r"\[(?:#|…)(?:, ?(?:#|…))*\]")


@dataclass
class KindRate:
    """Pass rate of the cases of one kind in one group, over the graded students."""
    group: str
    kind: str
    passed: int = 0
    cases: int = 0
    students_failing: set = field(default_factory=set)

    @property
    def rate(self):
        return self.passed / self.cases if self.cases else 0.0


@dataclass
class FailureGroup:
    """One failure message pattern: how many students and cases, and one example."""
    group: str
    status: str
    pattern: str
    example: str
    students: set = field(default_factory=set)
    cases: int = 0


def graded(records):
    return [r for r in records if r["status"] == "graded"]


def case_kinds(case):
    """The kinds a case recorded; records written before kinds existed fall back to its index."""
    return case.get("kinds") or [f"case {case['index']}"]


def kind_pass_rates(records):
    """``{group: [KindRate, ...]}`` over graded students, kinds in the order cases bring them."""
    rates = {}
    for r in graded(records):
        for g in r["groups"]:
            by_kind = rates.setdefault(g["name"], {})
            for case in g["cases"]:
                for kind in case_kinds(case):
                    rate = by_kind.setdefault(kind, KindRate(g["name"], kind))
                    rate.cases += 1
                    if case["status"] == "passed":
                        rate.passed += 1
                    else:
                        rate.students_failing.add(r["student_id"])
    return {name: sorted(kinds.values(), key=lambda r: _natural(r.kind))
            for name, kinds in rates.items()}


def _natural(text):
    """Sort key putting "pad 2" before "pad 10"."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text)]


def normalise(message):
    """A failure message with its case prefix dropped and numbers, indices, shapes as ``#``."""
    text = _CASE_PREFIX.sub("", message.strip())
    text = _NUMBER.sub("#", text)
    for _ in range(3):  # nested shapes and indices collapse from the inside out
        text = _LIST.sub("[…]", _TUPLE.sub("(…)", text))
    return re.sub(r"\s+", " ", text)


def common_failures(records, top=20):
    """The ``top`` most frequent failure patterns (by students, then cases)."""
    found = {}
    for r in graded(records):
        for g in r["groups"]:
            for case in g["cases"]:
                if case["status"] == "passed":
                    continue
                pattern = normalise(case["message"] or case["status"])
                key = (g["name"], case["status"], pattern)
                group = found.setdefault(key, FailureGroup(g["name"], case["status"], pattern,
                                                           case["message"]))
                group.students.add(r["student_id"])
                group.cases += 1
    ordered = sorted(found.values(), key=lambda f: (-len(f.students), -f.cases, f.group))
    return ordered[:top]


def case_status_counts(records):
    """``{group: Counter(status -> cases)}`` over graded students."""
    counts = {}
    for r in graded(records):
        for g in r["groups"]:
            counts.setdefault(g["name"], Counter()).update(c["status"] for c in g["cases"])
    return counts


def students_with(records, status):
    """``{student: [group, ...]}`` of the students with a case of ``status`` in those groups."""
    found = {}
    for r in graded(records):
        for g in r["groups"]:
            if any(c["status"] == status for c in g["cases"]):
                found.setdefault(r["student_id"], []).append(g["name"])
    return found


def group_fractions(records, group_names):
    """``{group: [score / max_score for each graded student]}``."""
    fractions = {name: [] for name in group_names}
    for r in graded(records):
        for g in r["groups"]:
            if g["name"] in fractions and g["max_score"]:
                fractions[g["name"]].append(g["score"] / g["max_score"])
    return fractions
