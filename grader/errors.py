"""Errors the grader raises when it is misused (never because of a submission)."""


class GraderUsageError(ValueError):
    """Bad grader input: a missing folder, an unknown assignment, a bad limit.

    The command line prints the message and exits with status 2.
    """
