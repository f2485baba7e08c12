"""What the student uploaded to Gradescope, made into one folder the pipeline can grade.

Gradescope puts the uploaded files in ``/autograder/submission``. Accepted: the
release folder's contents uploaded as files (``nndl/``, ``utils/``, the
notebooks, ``checkpoints/``), a ``.zip`` of that folder, or either one folder
level deeper. Anything else is refused with a message that says what was
expected and what was found. Only regular files are copied (links, FIFOs and
devices never), and a zip is unpacked with limits on its size, its number of
entries and its paths, so a zip bomb or ``../`` entry cannot reach the grader.
"""
import shutil
import stat
import zipfile
from pathlib import Path

from ..collect.step import package_root
from ..files import regular_files

MAX_UNPACKED_BYTES = 1 << 30
MAX_ENTRIES = 20_000
#: names operating systems add to uploads and zips, ignored when deciding the layout
IGNORED = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


def expected(assignment):
    """The sentence telling a student what to upload."""
    return (f"Upload your {assignment.name} release folder: its contents as files "
            "(nndl/, utils/, the notebooks and checkpoints/), or one .zip of that folder.")


def listing(folder, limit=10):
    """``a, b, c`` naming the first entries of ``folder``, or ``nothing``."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir()
                   if p.name not in IGNORED)
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit
                                        else "")
    return shown or "nothing"


def copy_regular(src, dest):
    """Copy the regular files under ``src`` to ``dest``, links and special files skipped."""
    for rel in regular_files(src):
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(src) / rel, target)


def unpack(archive, dest):
    """Unpack a zip into ``dest``: regular files and folders only, within the limits.

    Raises ValueError with a message for the student when the zip is refused.
    """
    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ValueError(f"{archive.name} holds {len(infos)} entries (at most "
                                 f"{MAX_ENTRIES})")
            if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                raise ValueError(f"{archive.name} unpacks to more than "
                                 f"{MAX_UNPACKED_BYTES >> 20} MB")
            for info in infos:
                parts = Path(info.filename).parts
                if info.filename.startswith("/") or ".." in parts or not parts:
                    raise ValueError(f"{archive.name} has an unsafe path: {info.filename!r}")
                kind = stat.S_IFMT(info.external_attr >> 16)
                if info.is_dir() or kind not in (0, stat.S_IFREG) or parts[0] in IGNORED:
                    continue
                target = Path(dest, *parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as err:
        raise ValueError(f"{archive.name} could not be unpacked ({err})") from None


def prepare(submission, staging, assignment):
    """``(folder, '')`` with a gradable copy of the upload under ``staging``, or ``(None, why)``.

    submission : the folder Gradescope filled (``/autograder/submission``).
    staging : an empty private folder of the grader's.
    """
    submission, staging = Path(submission), Path(staging)
    if not submission.is_dir():
        return None, f"no submission folder at {submission}. " + expected(assignment)
    copy = staging / "upload"
    copy_regular(submission, copy)
    copy.mkdir(parents=True, exist_ok=True)
    found = package_root(copy, assignment)
    if found is not None:
        return found, ""
    zips = [p for p in copy.iterdir() if p.suffix.lower() == ".zip" and p.is_file()]
    if len(zips) == 1:
        unpacked = staging / "unzipped"
        try:
            unpack(zips[0], unpacked)
        except ValueError as err:
            return None, f"{err}. " + expected(assignment)
        unpacked.mkdir(exist_ok=True)
        found = package_root(unpacked, assignment)
        if found is not None:
            return found, ""
        return None, (f"no nndl/ folder in {zips[0].name} (it holds: {listing(unpacked)}). "
                      + expected(assignment))
    what = f"{len(zips)} .zip files" if zips else listing(copy)
    return None, f"no nndl/ folder in your upload (found: {what}). " + expected(assignment)

