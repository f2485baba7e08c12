"""The wheel alone, in a fresh venv, run from a folder outside the repository.

An instructor's day with nothing but ``pip install cnnkit-*.whl[grader,widgets]``: a
course of their own, nbgrader's release, cnnkit's release, the demo, grading against
their course, and a lecturer's offline export on a machine without Node.js.
"""
import json
import os
import shutil
import zipfile

import pytest

from environments import REPO, make_venv, pip_install, run

IMPORT_ALL = """
import importlib, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as err:
        failed[name] = f"{type(err).__name__}: {err}"
print(json.dumps(failed))
"""


def wheel_modules(wheel):
    """Import names of the wheel's modules: ``.py`` files in packages, and extensions.

    The course template's files are data (a student's package, nbgrader's config file,
    which only nbgrader can execute), so of ``cnnkit.course`` only the package itself.
    """
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = []
    for name in sorted(names):
        folder, _, filename = name.rpartition("/")
        if not folder.startswith("cnnkit") or f"{folder}/__init__.py" not in names:
            continue
        if name.endswith(".py"):
            stem = filename[:-3]
        elif name.endswith(".so"):
            stem = filename.split(".", 1)[0]
        else:
            continue
        module = folder.replace("/", ".") + ("" if stem == "__init__" else f".{stem}")
        if module.startswith("cnnkit.course."):
            continue
        modules.append(module)
    return modules


@pytest.mark.slow
def test_the_wheel_alone_runs_every_command_outside_the_repository(cnnkit_wheel, tmp_path,
                                                                  cifar_archive):
    bin_dir = make_venv(tmp_path / "venv")
    pip_install(bin_dir, f"{cnnkit_wheel}[grader,widgets]")
    work = tmp_path / "work"
    work.mkdir()
    assert REPO not in work.parents
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNKIT_DATA")}
    env.update(PATH=f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
               CNNKIT_SECRET=str(tmp_path / "course.secret"), MPLBACKEND="Agg")

    def cnnkit(*args, **kwargs):
        return run([bin_dir / "cnnkit", *args], cwd=kwargs.pop("cwd", work),
                   env=kwargs.pop("env", env), **kwargs)

    # the instructor's own course, then nbgrader's release of its notebooks
    cnnkit("course", "new", "course")
    course = work / "course"
    assert (course / "nbgrader_config.py").is_file()
    assert "### BEGIN SOLUTION" in (course / "source/cnn/nndl/conv_layers.py").read_text()
    run([bin_dir / "nbgrader", "generate_assignment", "cnn"], cwd=course, env=env)
    assert (course / "release/cnn/1-ConvLayers.ipynb").is_file()

    # cnnkit's release of the whole student package
    cnnkit("assign", "course/source/cnn", "student/cnn")
    stub = (work / "student/cnn/nndl/conv_layers.py").read_text()
    assert "NotImplementedError" in stub and "BEGIN SOLUTION" not in stub

    # the demo: three example students generated from the installed template and graded
    cnnkit("demo", "demo", timeout=900)
    summary = json.loads((work / "demo/reports/summary.json").read_text())
    assert summary["students"] == 3 and summary["students_by_status"] == {"graded": 3}
    assert summary["notebook_check"]["ran"] is True

    # grading against the instructor's course
    graded = cnnkit("grade", "demo/submissions", "--assignment", "cnn", "--course", "course",
                    "--out", "graded", "--no-progress", "--timeout", "20", timeout=900)
    summary = json.loads((work / "graded/summary.json").read_text())
    assert summary["students"] == 3
    assert summary["notebook_check"] == {"ran": True, "problem": "",
                                         "source": f"course course ({course.resolve()}/source/cnn)"}
    assert "notebook cells checked against course course" in graded.stdout

    # a lecturer's offline export, with no Node.js or npm anywhere on PATH
    no_node = {**env, "PATH": str(bin_dir)}
    assert shutil.which("node", path=no_node["PATH"]) is None
    assert shutil.which("npm", path=no_node["PATH"]) is None
    demo_nb = run([bin_dir / "python", "-c", "from cnnkit.widgets.examples import DEMO; "
                   "print(DEMO / 'conv_demo.ipynb')"], cwd=work, env=env).stdout.strip()
    shutil.copy(demo_nb, work / "conv_demo.ipynb")
    cnnkit("widgets-export", "conv_demo.ipynb", "slides", env=no_node, timeout=900)
    page = (work / "slides/conv_demo.html").read_text()
    assert 'src="require.js"' in page or "require.js" in page
    for asset in ("require.js", "@jupyter-widgets/html-manager/dist/embed-amd.js",
                  "THIRD-PARTY-NOTICES.txt", "@jupyter-widgets/html-manager/LICENSE"):
        assert (work / "slides" / asset).is_file(), asset

    # the reference's commands: data, a short training run, the layer benchmark without torch
    cnnkit("data", "--from", cifar_archive, "--dest", "cache")
    assert (work / "cache").is_dir()
    cnnkit("train", "--data", cifar_archive, "--out", "train", "--epochs", "1",
           "--num-training", "200", "--num-validation", "40", "--num-test", "20", timeout=600)
    assert "val_acc" in json.loads((work / "train/metrics.json").read_text())
    bench = cnnkit("bench", "--tiny", "--repeats", "1", "--json", "bench.json", timeout=600)
    assert json.loads((work / "bench.json").read_text())["torch_available"] is False
    assert "torch" in bench.stdout

    # every module of the wheel imports in the installed kit
    modules = wheel_modules(cnnkit_wheel)
    assert "cnnkit.grader.demo.mistakes" in modules and "cnnkit.reference._kernels" in modules
    done = run([bin_dir / "python", "-c", IMPORT_ALL, json.dumps(modules)], cwd=work, env=env)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
