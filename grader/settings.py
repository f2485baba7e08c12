"""The grading settings: one range, one default and one help text for each.

:func:`cnnkit.grader.api.grade_submissions` checks its arguments here and the
command line's options take their defaults and help from here. The time and
memory ranges end where the sandbox's own maxima do (:data:`MAX_LIMITS`).
"""
import numbers
from dataclasses import dataclass

from .errors import GraderUsageError
from .sandbox.isolation import MAX_LIMITS


@dataclass(frozen=True)
class Setting:
    low: float
    high: float
    default: float
    help: str
    integral: bool = True

    def describe(self):
        """The option's help: what it is, its range and its default."""
        return f"{self.help}, {self.low:g}-{self.high:g} (default: {self.default:g})"


SETTINGS = {
    "workers": Setting(1, 64, 1, "submissions graded in parallel"),
    "timeout": Setting(1, MAX_LIMITS["cpu_seconds"], 60,
                       "seconds for each test group of a student", integral=False),
    "memory_mb": Setting(256, MAX_LIMITS["memory_mb"], 2048,
                         "memory limit of a student's process in MB"),
    "heldout": Setting(10, 10000, 1000, "held-out test images for the accuracy test"),
    "similarity_threshold": Setting(0.01, 1, 0.6, "flag pairs of students whose own code is "
                                    "at least this alike (evidence to review, never a grade "
                                    "change)", integral=False),
}


def check_setting(name, value):
    """Validate a grading setting against :data:`SETTINGS`; return it."""
    setting = SETTINGS[name]
    low, high = f"{setting.low:g}", f"{setting.high:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise GraderUsageError(f"{name} must be a number from {low} to {high}, got {value!r}")
    if setting.integral and value != int(value):
        raise GraderUsageError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    if not setting.low <= value <= setting.high:
        raise GraderUsageError(f"{name} must be from {low} to {high}, got {value!r}")
    return value
