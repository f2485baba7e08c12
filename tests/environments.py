"""Complete environments for the install tests, made the way users make them.

The wheel is built from the repository by ``python -m build`` (an sdist, then the wheel
from it, each in pip's build isolation); venvs are fresh, with their own pip, and get
packages only by ``pip install``. Nothing here reuses the packages of the interpreter that
runs the tests.
"""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(cmd, timeout=900, **kwargs):
    """Run ``cmd``; on failure, fail with its last output lines."""
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def build_wheel(out):
    """Build cnnkit's sdist and wheel into ``out``; return the wheel's path."""
    run([sys.executable, "-m", "build", "--outdir", out, REPO], timeout=1200)
    wheels = sorted(Path(out).glob("cnnkit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def make_venv(path):
    """A fresh venv at ``path`` with its own pip; returns its ``bin`` folder.

    Created from the base interpreter of whatever runs the tests, never with its
    site-packages.
    """
    run([sys.executable, "-m", "venv", path], timeout=300)
    return Path(path) / "bin"


def pip_install(bin_dir, *args, env=None, timeout=1500):
    """``pip install`` into the venv of ``bin_dir``, with pip's own build isolation."""
    return run([bin_dir / "python", "-m", "pip", "install", "--quiet",
                "--disable-pip-version-check", *args],
               timeout=timeout, env=dict(os.environ, **(env or {})))
