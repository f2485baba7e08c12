"""The data that flows through the grading pipeline.

``GradingContext`` is fixed for a whole batch (assignment, secret, limits,
where the held-out data is); the per-student record ``Work`` is handed from
step to step (see :mod:`cnnkit.grader.pipeline`). Every outcome is plain data.
"""
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Secret:
    """The course secret: ``key`` seeds the hidden cases, only ``fingerprint`` is ever recorded."""
    key: bytes
    fingerprint: str
    path: str

    def __repr__(self):
        return f"Secret(fingerprint={self.fingerprint!r}, path={self.path!r})"


@dataclass(frozen=True)
class HeldOut:
    """Held-out images for the accuracy test: images file for the sandbox, labels for the parent."""
    images_path: str          # .npy, (N, 3, 32, 32) float32, preprocessed like get_CIFAR10_data
    labels: tuple             # (N,) ints, never written into a sandbox
    source: str


@dataclass(frozen=True)
class GradingContext:
    """Everything a step needs that is the same for every student of a batch."""
    assignment: object        # cnnkit.grader.testbank.groups.Assignment
    secret: Secret
    limits: object            # cnnkit.grader.sandbox.isolation.Limits
    out: Path
    heldout: HeldOut | None = None
    heldout_problem: str = "" # why held-out data is missing, shown to the instructor
    grader_key: str = ""      # changes when anything that affects scores changes (resume)
    notebooks: dict | None = None  # instructor's test/locked cells, see notebook_check
    isolation: str = ""       # what the batch's sandbox self-test found; other isolation
                              # in a student's run is a grader fault (run.step.check_started)


@dataclass
class Submission:
    """One student's folder as found by :mod:`cnnkit.grader.collect.step`."""
    student_id: str
    folder: Path | None
    fingerprint: str = ""
    problem: str = ""         # non-empty: ungradable, and this says why
    notes: list = field(default_factory=list)


@dataclass
class CaseResult:
    """The verdict on one hidden case."""
    group: str
    index: int
    status: str
    message: str = ""
    value: float | None = None  # a measured quantity, e.g. the accuracy
    kinds: tuple = ()           # what the case varies (Case.kinds), for the class report

    def to_dict(self):
        d = {"index": self.index, "status": self.status, "message": self.message,
             "kinds": list(self.kinds)}
        if self.value is not None:
            d["value"] = self.value
        return d


@dataclass
class GroupResult:
    """A test group's cases and its score."""
    name: str
    max_score: float
    cases: list = field(default_factory=list)
    score: float = 0.0
    note: str = ""            # e.g. why the group earned no credit at all
    no_credit: bool = False   # set when the group broke a rule (see static_check)
    seconds: float = 0.0

    def to_dict(self):
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "note": self.note, "no_credit": self.no_credit, "seconds": round(self.seconds, 3),
                "cases": [c.to_dict() for c in self.cases]}


@dataclass
class Work:
    """One student's grading in progress, handed from step to step."""
    submission: Submission
    raw: dict = field(default_factory=dict)       # group -> GroupRun from the sandbox step
    groups: list = field(default_factory=list)    # GroupResult, filled by compare and score
    isolation: str = ""
    seconds: float = 0.0
    notebook_edits: list = field(default_factory=list)

    @property
    def total(self):
        return sum(g.score for g in self.groups)
