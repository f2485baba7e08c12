"""A student's folder as bytes: packed by the client, unpacked on a worker.

Workers need no shared filesystem: the client packs the regular files of a
folder (walked with :func:`cnnkit.grader.files.regular_files`, links never
followed) into an uncompressed tar held in memory, and the worker writes them
out again under a fresh folder. Unpacking trusts nothing in the archive: only
regular-file members with plain relative names are written, one by one, never
with ``extractall``; anything else is refused.
"""
import io
import os
import tarfile
from pathlib import PurePosixPath

from ..files import regular_files

#: largest folder sent to a worker; a bigger one is ungradable with this reason
MAX_FOLDER_BYTES = 512 << 20


class FolderTooLarge(ValueError):
    """The student's folder holds more than :data:`MAX_FOLDER_BYTES`."""


def pack_folder(folder):
    """The regular files under ``folder`` as the bytes of a tar archive."""
    files = regular_files(folder)
    total = sum(os.path.getsize(os.path.join(folder, rel)) for rel in files)
    if total > MAX_FOLDER_BYTES:
        raise FolderTooLarge(f"the folder holds {total >> 20} MB, more than the "
                             f"{MAX_FOLDER_BYTES >> 20} MB a cluster task may carry")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in files:
            with open(os.path.join(folder, rel), "rb") as handle:
                data = handle.read()
            info = tarfile.TarInfo(PurePosixPath(*rel.split(os.sep)).as_posix())
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def safe_member_name(name):
    """``name`` as a relative path inside the target folder; ValueError when it is not."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts) \
            or "\0" in name or "\\" in name:
        raise ValueError(f"archive member {name!r} is not a plain relative path")
    return path


def unpack_folder(data, dest):
    """Write the files of a :func:`pack_folder` archive under ``dest`` (an empty folder)."""
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            if not member.isreg():
                raise ValueError(f"archive member {member.name!r} is not a regular file")
            path = os.path.join(dest, *safe_member_name(member.name).parts)
            total += member.size
            if total > MAX_FOLDER_BYTES:
                raise ValueError("archive unpacks to more than the size limit")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with tar.extractfile(member) as source, open(path, "xb") as target:
                target.write(source.read())
