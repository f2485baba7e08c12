"""The grader's own compiled kernels, lent to a sandbox when the student's copy matches.

A submission's ``utils/fast_layers.py`` falls back to slow numpy kernels when
``utils/_kernels`` is not compiled, which is the case in a sandbox holding
only ``.py`` files; the accuracy test then runs about twice as slow. When the
student's ``utils/_kernels.pyx`` is exactly the release's copy of the
reference kernels and the grader's compiled extension is up to date with
them, that extension (trusted code, built by the grader's own install) is
copied into the sandbox as ``utils/_kernels``. Otherwise nothing is copied
and the numpy kernels are used: slower, never wrong. When the grader's own
extension is unusable, the reason is printed once on stderr.
"""
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

from ..files import is_regular

RELEASE_PYX = "utils/_kernels.pyx"


def _not_lent(reason):
    """Say once, on stderr, why sandboxes run the numpy kernels; return None."""
    print(f"cnnkit grade: the compiled kernels are not lent to sandboxes ({reason}); "
          "accuracy tests use the slower numpy kernels", file=sys.stderr)
    return None


@lru_cache(maxsize=1)
def _compiled():
    """``(extension path, expected release pyx text)`` or None when unusable (said once)."""
    from ..release.derive import derived_text
    try:
        spec = importlib.util.find_spec("cnnkit.reference._kernels")
    except (ImportError, ValueError) as err:
        return _not_lent(f"cannot look up cnnkit.reference._kernels: {err}")
    if spec is None or not spec.origin or not spec.origin.endswith(".so"):
        return _not_lent("cnnkit.reference._kernels is not compiled")
    so = Path(spec.origin)
    pyx = so.parent / "_kernels.pyx"
    if not pyx.is_file() or so.stat().st_mtime < pyx.stat().st_mtime:
        # a stale build: the kernels' names may not match the source
        return _not_lent(f"{so.name} is older than {pyx.name} or the source is missing; "
                         "reinstall cnnkit to rebuild it")
    try:
        text = derived_text("_kernels.pyx", RELEASE_PYX, {RELEASE_PYX: "_kernels.pyx"})
    except (OSError, ValueError) as err:  # AssignError is a ValueError
        return _not_lent(f"the release copy of _kernels.pyx cannot be derived: {err}")
    return so, text


def kernels_for(folder):
    """Path of an extension to copy to ``utils/`` for the submission in ``folder``, or None."""
    found = _compiled()
    student = Path(folder) / RELEASE_PYX
    if found is None or not is_regular(student):
        return None
    try:
        same = student.read_text(encoding="utf-8") == found[1]
    except (OSError, UnicodeDecodeError):  # unreadable, so not the release's copy
        return None
    return found[0] if same else None
