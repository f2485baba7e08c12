"""Where the instructor's course is: a course folder, or the template cnnkit ships.

The template is package data of :mod:`cnnkit.course` (built from the repository's
``assignments/``: ``nbgrader_config.py`` and ``source/<assignment>/``), found through
``importlib.resources`` the same way in a wheel and in an editable install.
:func:`new_course` copies it into a folder the instructor owns (``cnnkit course new``);
grading takes the instructor's notebooks from such a folder (``--course``) or, without
one, from the template (:func:`assignment_source`).
"""
import shutil
from importlib.resources import files
from pathlib import Path

from .errors import GraderUsageError

TEMPLATE_PACKAGE = "cnnkit.course"
#: course-level files copied besides ``source/<assignment>/``
COURSE_FILES = ("nbgrader_config.py", ".gitignore")
LAYOUT_FILE = "assignment.json"


def template_root():
    """Folder of the installed course template."""
    try:
        return Path(str(files(TEMPLATE_PACKAGE)))
    except ModuleNotFoundError as err:
        raise GraderUsageError(f"the course template {TEMPLATE_PACKAGE} is not installed "
                               "(a broken cnnkit install?); reinstall cnnkit") from err


def template_assignments():
    """Names of the assignments the template holds, sorted."""
    source = template_root() / "source"
    return sorted(p.parent.name for p in source.glob(f"*/{LAYOUT_FILE}"))


def assignment_source(assignment="cnn", course=None):
    """``(folder, description)`` of an assignment's source: the course's, or the template's.

    Raises GraderUsageError, naming the folder, when the assignment is not there.
    """
    if course is None:
        root, where = template_root(), "the course template installed with cnnkit"
    else:
        root, where = Path(course), f"course {course}"
        if not root.is_dir():
            raise GraderUsageError(f"--course {course}: not a folder (create a course with "
                                   "`cnnkit course new DIR`)")
    source = root / "source" / assignment
    if not (source / LAYOUT_FILE).is_file():
        raise GraderUsageError(
            f"{where} has no assignment {assignment!r}: {source / LAYOUT_FILE} is missing "
            f"(template assignments: {', '.join(template_assignments()) or 'none'})")
    return source.resolve(), f"{where} ({source.resolve()})"


def template_source(assignment="cnn"):
    """The source folder of ``assignment`` in the installed course template."""
    return assignment_source(assignment)[0]


def _template_files(source):
    """The source files of a template assignment, relative: no build products, nothing derived."""
    from .release.layout import load_layout, source_files
    layout = load_layout(source)
    return source_files(source, dict(layout, instructor_only=[]))


def new_course(folder, assignment="cnn", force=False, sync=True):
    """Write an nbgrader course holding the template's ``assignment`` into ``folder``.

    ``folder`` must be new or empty unless ``force``, which writes the course files over
    the ones there and keeps every other file (a gradebook, submissions). With ``sync`` the
    derived files (prerequisite modules, fast layers, visible checks' expected values) are
    written too, so the source notebooks run in place. Returns the written paths, relative
    to ``folder``, sorted.
    """
    from .release.build import sync_derived
    template, _ = assignment_source(assignment)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GraderUsageError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise GraderUsageError(f"{folder} is not empty; choose a new folder, or pass --force "
                               "to write the course files over the ones there (other files "
                               "are kept)")
    written = []
    for name in COURSE_FILES:
        if (template_root() / name).is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template_root() / name, folder / name)
            written.append(name)
    target = folder / "source" / assignment
    for relpath in _template_files(template):
        (target / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template / relpath, target / relpath)
        written.append(f"source/{assignment}/{relpath}")
    if sync:
        written += [f"source/{assignment}/{p}" for p in sync_derived(target)]
    return sorted(set(written))
