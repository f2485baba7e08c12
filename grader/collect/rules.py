"""What a submission must hold and what it leaves out: the rules the grader and students share.

:func:`submission_rules` gathers, as plain data, what the grader looks for in
a student's folder: the student files and the functions and classes the
hidden tests import from them (from the test groups), where the challenge
checkpoint may be and the accuracy that earns full points, the folders the
grader skips, and the largest file worth uploading. ``cnnkit assign`` ships them in the release (:func:`submission_files`, at the
path ``assignment.json`` gives), so the students' pre-submission check
(``python -m utils.submit``) applies the same rules without cnnkit.
"""
import json

from ..files import MAX_SOURCE_BYTES, SKIP_DIRS
from ..release.layout import LAYOUT_FILE, AssignError
from ..testbank.groups import FULL_ACCURACY, get_assignment

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


def submission_files(layout):
    """``{release path: bytes}``: the rules file that ``layout`` (an assignment.json) asks for."""
    wanted = layout.get("submission_rules")
    if not wanted:
        return {}
    try:
        assignment = get_assignment(wanted["assignment"])
    except ValueError as err:
        raise AssignError(f"{LAYOUT_FILE}: submission_rules: {err}") from err
    text = json.dumps(submission_rules(assignment), indent=1, sort_keys=True) + "\n"
    return {wanted["path"]: text.encode()}
