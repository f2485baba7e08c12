"""The course secret that seeds the hidden cases.

Default location: ``$CNNKIT_SECRET`` if set, else
``$XDG_CONFIG_HOME/cnnkit/course.secret`` (``~/.config/cnnkit/course.secret``).
It is created on first use (32 random bytes as hex, mode 0600). Keep it out of
the submissions folder and out of any release. Only its fingerprint (a hash)
is recorded in results; with the secret and a case's group and index,
:meth:`cnnkit.grader.testbank.groups.Assignment.make_case` rebuilds the case.
"""
import hashlib
import os
import secrets
from pathlib import Path

from ..context import Secret
from ..errors import GraderUsageError

MIN_BYTES = 16


def default_secret_path():
    """Where the course secret lives when ``--secret`` is not given."""
    if os.environ.get("CNNKIT_SECRET"):
        return Path(os.environ["CNNKIT_SECRET"]).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "cnnkit" / "course.secret"


def fingerprint(key):
    """A short public hash of the secret, safe to record and show."""
    return "sha256:" + hashlib.sha256(key).hexdigest()[:16]


def create_secret(path):
    """Write a new random secret to ``path`` (which must not exist yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")


def load_secret(path=None, create=True):
    """The course :class:`Secret` from ``path`` (default :func:`default_secret_path`).

    A missing default secret is created; a missing explicit ``path`` is created
    only when ``create`` is true.
    """
    path = Path(path).expanduser() if path is not None else default_secret_path()
    if not path.exists() and create:
        try:
            create_secret(path)
        except FileExistsError:
            pass  # another grader created it at the same moment
        except OSError as err:
            raise GraderUsageError(f"cannot create the course secret {path}: {err}") from err
    if not path.is_file():
        raise GraderUsageError(f"--secret {path}: not a file")
    try:
        key = path.read_bytes().strip()
    except OSError as err:
        raise GraderUsageError(f"--secret {path}: cannot read it ({err})") from err
    if len(key) < MIN_BYTES:
        raise GraderUsageError(f"--secret {path}: holds {len(key)} bytes, needs at least "
                               f"{MIN_BYTES} (delete it to have a new one created)")
    return Secret(key=key, fingerprint=fingerprint(key), path=str(path))
