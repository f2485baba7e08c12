"""What a submission must hold and what it leaves out: the rules the grader and students share.

:func:`submission_rules` gathers, as plain data, what the grader looks for in
a student's folder: the student files and the functions and classes the
hidden tests import from them (from the test groups), where the challenge
checkpoint may be and the accuracy that earns full points, the folders the
grader skips, and the largest file worth uploading. The release builder ships them as ``utils/submission_rules.json``,
so the students' pre-submission check (``python -m utils.submit``) applies
the same rules without cnnkit.
"""
from ..compare.step import FULL_ACCURACY
from ..files import SKIP_DIRS
from ..run.step import MAX_SOURCE_BYTES

#: a file over this size is left out of a submission (data, not work)
MAX_FILE_BYTES = 50 << 20
#: data the grader brings itself: never part of a submission
DATA_PATTERNS = ("cifar-10-batches-py", "cifar-10-python.tar*", "*.tar.gz", "*.tar.xz")
#: build products and caches: never read by the grader
CACHE_PATTERNS = ("*.pyc", "*.so", "*.pyd", "*.egg-info", "build", "dist", ".pytest_cache",
                  ".DS_Store", "submission.zip")


def student_functions(assignment):
    """``{student file: sorted names}`` the hidden tests import from each student module."""
    found = {}
    for group in assignment.groups:
        keywords = getattr(group.build, "keywords", {})
        module = keywords.get("module")
        if not module:
            continue
        names = [keywords.get(k) for k in ("forward", "backward", "cls")]
        path = module.replace(".", "/") + ".py"
        found.setdefault(path, set()).update(n for n in names if n)
    return {path: sorted(names) for path, names in sorted(found.items())}


def submission_rules(assignment):
    """The rules of a submission of ``assignment`` as a JSON-ready dict."""
    return {
        "assignment": assignment.name,
        "functions": student_functions(assignment),
        "checkpoint": list(assignment.checkpoint),
        "skip_dirs": sorted(SKIP_DIRS),
        "data_patterns": list(DATA_PATTERNS),
        "cache_patterns": list(CACHE_PATTERNS),
        "max_file_bytes": MAX_FILE_BYTES,
        "max_source_bytes": MAX_SOURCE_BYTES,
        "full_accuracy": FULL_ACCURACY,
    }
