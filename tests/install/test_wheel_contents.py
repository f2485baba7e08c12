"""The wheel holds the whole kit: every module, the compiled kernels, every data file."""
import importlib.util
import json
import subprocess
import zipfile

import pytest

from environments import REPO

#: folder in the repository -> where its files land in the wheel (setup.py's PARTS)
PARTS = {"reference": "cnnkit/reference", "grader": "cnnkit/grader",
         "widgets": "cnnkit/widgets", "assignments": "cnnkit/course"}
#: fetched at build time from widgets/package-lock.json, with their licences
WIDGET_ASSETS = ("requirejs/require.js", "requirejs/package.json",
                 "@jupyter-widgets/html-manager/dist/embed-amd.js",
                 "@jupyter-widgets/html-manager/LICENSE",
                 "@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt",
                 "THIRD-PARTY-NOTICES.txt")


def source_files():
    """Files of the part folders that git tracks or would track (not ignored), relative."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                                 *PARTS], cwd=REPO, capture_output=True, text=True, check=True)
        return sorted(f for f in listed.stdout.splitlines() if (REPO / f).is_file())
    except (OSError, subprocess.CalledProcessError):
        pass  # not a git checkout (an unpacked sdist): the same rules, read by the build
    spec = importlib.util.spec_from_file_location(
        "package_files", REPO / "build_support" / "package_files.py")
    package_files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package_files)
    return sorted(f"{folder}/{f}" for folder in PARTS
                  for f in package_files.data_files(REPO, folder, [])
                  + [p.name for p in (REPO / folder).glob("*.py")])


@pytest.fixture(scope="module")
def wheel_names(cnnkit_wheel):
    with zipfile.ZipFile(cnnkit_wheel) as wheel:
        return set(wheel.namelist())


def test_every_source_module_and_data_file_is_in_the_wheel(wheel_names):
    files = source_files()
    assert len(files) > 80 and "grader/demo/mistakes.py" in files
    missing = []
    for relpath in files:
        folder, rest = relpath.split("/", 1)
        if f"{PARTS[folder]}/{rest}" not in wheel_names:
            missing.append(relpath)
    assert not missing, f"in the source tree but not in the wheel: {missing}"


def test_the_wheel_has_the_compiled_kernels_and_the_widget_javascript(wheel_names):
    assert [n for n in wheel_names
            if n.startswith("cnnkit/reference/_kernels.") and n.endswith(".so")]
    missing = [a for a in WIDGET_ASSETS if f"cnnkit/widgets/assets/{a}" not in wheel_names]
    assert not missing, f"widget JavaScript or licences missing from the wheel: {missing}"
    fonts = [n for n in wheel_names
             if n.startswith("cnnkit/widgets/assets/@jupyter-widgets/html-manager/dist/")
             and n.endswith(".woff2")]
    assert fonts


def test_only_cnnkit_lands_in_site_packages(wheel_names):
    tops = {n.split("/", 1)[0] for n in wheel_names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"cnnkit"}
    layout = json.loads((REPO / "assignments/source/cnn/assignment.json").read_text())
    course = "cnnkit/course/source/cnn/"
    derived = [n for n in wheel_names if n.startswith(course)
               and (n[len(course):] in layout["derived"] or "/expected/" in n
                    or n.endswith((".so", ".c", ".pyc")))]
    assert not derived, f"build products or derived files in the course template: {derived}"
