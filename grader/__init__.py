"""cnnkit.grader: hidden tests, sandboxed runner, scoring, reports and the command line.

The Python API: ``cnnkit.grader.grade_submissions(submissions, out, ...)`` returns a
``BatchResult`` (see :mod:`cnnkit.grader.api`). Imported lazily, so the command line
starts without loading numpy and the reference.
"""
__all__ = ["BatchResult", "GraderUsageError", "grade_submissions"]


def __getattr__(name):
    if name in ("BatchResult", "grade_submissions"):
        from . import api
        return getattr(api, name)
    if name == "GraderUsageError":
        from .errors import GraderUsageError
        return GraderUsageError
    raise AttributeError(f"module 'cnnkit.grader' has no attribute {name!r}")
