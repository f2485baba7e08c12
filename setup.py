"""What pyproject.toml cannot state: the packages, their data, the Cython kernels and the
widget JavaScript.

Each part folder maps into the ``cnnkit`` namespace (``reference/`` is ``cnnkit.reference``,
``assignments/`` is ``cnnkit.course``, the course template) and its subpackages are found
by ``find_packages``, so a new one cannot be left out. Every file of those folders that git
does not ignore is package data (see ``build_support/package_files.py``). The widget
JavaScript pinned in ``widgets/package-lock.json`` is fetched and integrity-checked at build
time into ``cnnkit/widgets/assets`` (in place, under ``widgets/assets``, for an editable
install).
"""
import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Command, Extension, find_packages, setup
from setuptools.command.build import build

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from build_support.npm_assets import fetch_assets  # noqa: E402
from build_support.package_files import data_files  # noqa: E402

#: import name -> folder of each part
PARTS = {
    "cnnkit.reference": "reference",
    "cnnkit.grader": "grader",
    "cnnkit.widgets": "widgets",
    "cnnkit.course": "assignments",
}
LOCK_FILE = Path("widgets", "package-lock.json")
ASSETS = Path("widgets", "assets")


def find_all_packages():
    """``{package: folder}`` of every part and every subpackage under it."""
    found = {}
    for name, folder in PARTS.items():
        found[name] = folder
        for sub in find_packages(folder):
            found[f"{name}.{sub}"] = str(Path(folder, *sub.split(".")))
    return found


PACKAGES = find_all_packages()


def package_data():
    data = {}
    for name, folder in PACKAGES.items():
        children = [f for n, f in PACKAGES.items() if n.startswith(name + ".")]
        data[name] = data_files(ROOT, folder, children)
    return data


class build_widget_assets(Command):
    """Fetch the pinned widget JavaScript (and its licences) into the build."""

    description = "fetch the JavaScript pinned in widgets/package-lock.json"
    user_options = []
    editable_mode = False

    def initialize_options(self):
        self.build_lib = None

    def finalize_options(self):
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def _dest(self):
        if self.editable_mode:
            return ROOT / ASSETS
        return Path(self.build_lib, "cnnkit", "widgets", "assets")

    def run(self):
        written = fetch_assets(ROOT / LOCK_FILE, self._dest())
        print(f"widget JavaScript: {len(written)} files in {self._dest()}")

    def get_outputs(self):
        dest = self._dest()
        return [str(p) for p in dest.rglob("*") if p.is_file()] if dest.is_dir() else []

    def get_output_mapping(self):
        return {}

    def get_source_files(self):
        return [LOCK_FILE.as_posix()]


build.sub_commands.append(("build_widget_assets", None))

kernels = Extension(
    "cnnkit.reference._kernels",
    ["reference/_kernels.pyx"],
    extra_compile_args=["-O3"],
)

setup(
    packages=sorted(PACKAGES),
    package_dir=PARTS,
    package_data=package_data(),
    ext_modules=cythonize([kernels], language_level=3),
    cmdclass={"build_widget_assets": build_widget_assets},
)
