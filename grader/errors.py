"""Errors the grader raises: misuse, and failures of its own (never because of a submission)."""


class GraderUsageError(ValueError):
    """Bad grader input: a missing folder, an unknown assignment, a bad limit.

    The command line prints the message and exits with status 2.
    """


class ClusterError(GraderUsageError):
    """The cluster cannot grade this batch: Dask missing, scheduler unreachable, a worker
    refused (another cnnkit, secret or sandbox), or the scheduler lost mid-batch.

    Students graded before it are written; a re-run resumes from there.
    """


class GraderFault(RuntimeError):
    """A failure of the grader's own making while grading one student: the sandbox did
    not start, or the harness failed before reaching the student's code.

    The student gets the status ``grader_error`` with this message, and no grade; the
    next run retries them.
    """


class SandboxSelfTestError(RuntimeError):
    """The sandbox's start-up self-test failed: nobody was graded.

    ``result`` is the :class:`~cnnkit.grader.sandbox.selftest.SelfTestResult`; the command
    line prints its message and exits with status 3.
    """

    def __init__(self, result):
        super().__init__(result.message())
        self.result = result
