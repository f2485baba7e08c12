"""The wheelhouse inside the Gradescope zip: cnnkit's wheel and the pinned wheels grading needs.

Target: Gradescope's default base image, Ubuntu 22.04 (glibc 2.35), CPython 3.10,
x86_64. ``setup.sh`` installs from these files only (``--no-index``), so setup
needs no package index for Python packages and installs the same versions every time.

- **cnnkit** is built as a binary wheel by a CPython of the target version found
  on this machine (``--python``, ``python3.10`` on PATH, or pyenv's 3.10.x), so
  its compiled kernels match the image's interpreter, and is refused when the
  extension asks for a newer glibc than the image's (read from the symbol
  versions it needs). That is faster and surer at setup than compiling there
  (no compiler or Python headers on the image, no build dependencies in the
  zip). Without such an interpreter (or off Linux x86_64) the wheel is pure
  Python: grading then uses the numpy kernels, and the build says so.
- **Dependencies**: only what grading imports (numpy, threadpoolctl, and
  pyseccomp and landlock for the sandbox; numpy alone for the students'
  interpreter), at the newest versions cnnkit's own requirements allow for the
  target, downloaded with ``pip download --only-binary=:all: --python-version
  3.10 --platform manylinux2014_x86_64``. They are installed with ``--no-deps``
  from pinned lists (``grader.txt``, ``student.txt``): exactly these files.
"""
import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

TARGET_PYTHON = "3.10"
TARGET_PLATFORM = "manylinux2014_x86_64"
TARGET_GLIBC = (2, 35)           # Ubuntu 22.04
GRADER_NEEDS = ("numpy", "threadpoolctl", "pyseccomp", "landlock")
STUDENT_NEEDS = ("numpy",)
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.pyd", "*.c", "build",
                                  "dist", "*.egg-info", ".git", "node_modules", "runs",
                                  ".pytest_cache")


class WheelhouseError(RuntimeError):
    """The wheelhouse cannot be built; the message says why and what to do."""


def _run(command, what):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise WheelhouseError(f"{what} failed (exit status {done.returncode}):\n"
                              + "\n".join(tail))
    return done


def python_version(python):
    """``"3.10"`` for the interpreter ``python``, or None when it does not run."""
    try:
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(version=TARGET_PYTHON, given=None):
    """A CPython ``version`` interpreter on this machine, or None."""
    if given is not None:
        if python_version(given) != version:
            raise WheelhouseError(f"--python {given}: not a Python {version} interpreter "
                                  f"(it reports {python_version(given)})")
        return str(given)
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")),
                         reverse=True)
    for candidate in filter(None, candidates):
        if python_version(candidate) == version:
            return candidate
    return None


def checkout_root():
    """The cnnkit source checkout this code runs from (an editable install), or None."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and re.search(r'(?m)^name = "cnnkit"', pyproject.read_text()):
        return root
    return None


def _installed_source(dest, compiled):
    """A buildable source tree made from the installed ``cnnkit`` package's files."""
    import cnnkit.reference
    package = Path(cnnkit.reference.__file__).resolve().parents[1]
    shutil.copytree(package, dest / "cnnkit", ignore=_IGNORED)
    requires = [r for r in (metadata.requires("cnnkit") or []) if "extra ==" not in r]
    (dest / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68", "Cython>=3.0", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n\n[project]\nname = "cnnkit"\n'
        f'version = "{metadata.version("cnnkit")}"\nrequires-python = ">={TARGET_PYTHON}"\n'
        f"dependencies = {requires!r}\n\n[tool.setuptools.packages.find]\n"
        'include = ["cnnkit*"]\nnamespaces = true\n\n[tool.setuptools.package-data]\n'
        '"*" = ["*", "**/*"]\n')
    extension = ('from Cython.Build import cythonize\nfrom setuptools import Extension\n'
                 'modules = cythonize([Extension("cnnkit.reference._kernels", '
                 '["cnnkit/reference/_kernels.pyx"], extra_compile_args=["-O3"])], '
                 'language_level=3)\n') if compiled else "modules = []\n"
    (dest / "setup.py").write_text("from setuptools import setup\n" + extension
                                   + "setup(ext_modules=modules)\n")
    return dest


def glibc_needed(wheel):
    """The newest ``(major, minor)`` glibc symbol version the wheel's extensions need."""
    newest = (0, 0)
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.endswith(".so"):
                for found in re.findall(rb"GLIBC_(\d+)\.(\d+)", z.read(name)):
                    newest = max(newest, (int(found[0]), int(found[1])))
    return newest


def build_cnnkit_wheel(dest, python=None):
    """Build cnnkit's wheel for the target into ``dest``; ``(wheel path, note)``.

    The one place the zip builder gets cnnkit's wheel (see the module docstring).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    native = sys.platform == "linux" and platform.machine() == "x86_64"
    target = find_python(TARGET_PYTHON, python) if native or python else None
    with tempfile.TemporaryDirectory(prefix="cnnkit-wheel-") as tmp:
        tmp = Path(tmp)
        if target is None:
            source, interpreter = _installed_source(tmp / "src", compiled=False), sys.executable
            note = (f"no Python {TARGET_PYTHON} for Linux x86_64 found here (pass --python): "
                    "cnnkit's wheel is pure Python, so grading uses the numpy kernels (slower)")
        else:
            root = checkout_root()
            if root is not None:
                source = Path(shutil.copytree(root, tmp / "src", ignore=_IGNORED))
            else:
                source = _installed_source(tmp / "src", compiled=True)
            interpreter, note = target, f"cnnkit's wheel built by {target}"
        _run([interpreter, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp / "out"),
              str(source)], "building cnnkit's wheel")
        wheel = next((tmp / "out").glob("cnnkit-*.whl"))
        final = Path(shutil.copy2(wheel, dest / wheel.name))
    needed = glibc_needed(final)
    if needed > TARGET_GLIBC:
        final.unlink()
        raise WheelhouseError(
            f"cnnkit's compiled kernels need glibc {needed[0]}.{needed[1]}, newer than the "
            f"Gradescope image's {TARGET_GLIBC[0]}.{TARGET_GLIBC[1]}: build on an older "
            "Linux (e.g. Ubuntu 22.04) or pass --python with an interpreter built there")
    if needed > (0, 0):
        note += f"; its compiled kernels need glibc {needed[0]}.{needed[1]} (the image has " \
                f"{TARGET_GLIBC[0]}.{TARGET_GLIBC[1]})"
    return final, note


def requirements(names):
    """cnnkit's own requirement specifiers for ``names`` (one source of truth)."""
    found = {}
    for text in metadata.requires("cnnkit") or []:
        name = re.match(r"[A-Za-z0-9_.-]+", text).group(0).lower()
        if ";" not in text and name in names:
            found[name] = text.strip()
    missing = [n for n in names if n not in found]
    if missing:
        raise WheelhouseError(f"cnnkit's metadata does not require {', '.join(missing)}")
    return [found[n] for n in names]


def download(dest, specifiers):
    """Download binary wheels of ``specifiers`` for the target into ``dest``."""
    _run([sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--pre",
          "--python-version", TARGET_PYTHON, "--platform", TARGET_PLATFORM,
          "--implementation", "cp", "--abi", "cp" + TARGET_PYTHON.replace(".", ""),
          "--dest", str(dest), *specifiers], "downloading the wheels for Python "
         f"{TARGET_PYTHON} on {TARGET_PLATFORM}")


def pinned(dest, names):
    """``name==version`` lines for the wheels of ``names`` found in ``dest``."""
    lines = []
    for name in names:
        wheels = sorted(Path(dest).glob(f"{name.replace('-', '_')}-*.whl"))
        if not wheels:
            raise WheelhouseError(f"no wheel of {name} in {dest}")
        lines.append(f"{name}=={wheels[-1].name.split('-')[1]}")
    return lines


def build_wheelhouse(dest, python=None):
    """cnnkit's wheel, the dependency wheels and the pinned lists in ``dest``; a note."""
    dest = Path(dest)
    wheel, note = build_cnnkit_wheel(dest, python)
    download(dest, requirements(GRADER_NEEDS))
    version = wheel.name.split("-")[1]
    (dest / "grader.txt").write_text("\n".join([f"cnnkit=={version}",
                                                *pinned(dest, GRADER_NEEDS)]) + "\n")
    (dest / "student.txt").write_text("\n".join(pinned(dest, STUDENT_NEEDS)) + "\n")
    return note
