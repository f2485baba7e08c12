"""Errors the grader raises when it is misused (never because of a submission)."""


class GraderUsageError(ValueError):
    """Bad grader input: a missing folder, an unknown assignment, a bad limit.

    The command line prints the message and exits with status 2.
    """


class ClusterError(GraderUsageError):
    """The cluster cannot grade this batch: Dask missing, scheduler unreachable, a worker
    refused (another cnnkit, secret or sandbox), or the scheduler lost mid-batch.

    Students graded before it are written; a re-run resumes from there.
    """
