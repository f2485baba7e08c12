"""A student installs the cnn release in a fresh venv and runs its first notebook.

Each venv is complete (its own pip); the release installs with pip's build isolation, so
setuptools and Cython come from the package index, as on a student's machine.
"""
import json
import shutil
import subprocess
import textwrap

import pytest
from environments import make_venv, pip_install

CHECK_INSTALL = textwrap.dedent("""\
    import json, os, warnings
    warnings.simplefilter("error", RuntimeWarning)  # the numpy fallback would warn
    import nndl.conv_layers, utils.fast_layers, utils.feedback
    print(json.dumps({"kernels": utils.fast_layers.KERNELS,
                      "nndl": nndl.conv_layers.__file__,
                      "expected": sorted(os.listdir(utils.feedback.EXPECTED_DIR))}))
    """)

RUN_FIRST_NOTEBOOK = textwrap.dedent("""\
    import sys
    sys.path.insert(0, {helpers!r})
    from cnn_course import execute_notebook
    nb, error, seconds = execute_notebook({notebook!r}, {cwd!r})
    print(error.ename if error else "no error")
    print(error.evalue if error else "")
    """)


@pytest.mark.slow
def test_release_installs_in_a_fresh_venv_and_runs_to_the_first_stub(release, small_mode,
                                                                     tmp_path):
    folder = tmp_path / "cnn"
    shutil.copytree(release[0], folder)  # the build writes into the folder; keep the fixture clean
    bin_dir = make_venv(tmp_path / "venv")
    # the release, then what runs its notebooks headless (a kernel and a client)
    pip_install(bin_dir, "-e", folder, "ipykernel>=6.29", "nbclient>=0.10", "nbformat>=5.9")
    python = str(bin_dir / "python")

    # from another folder: the packages are installed, and the kernels compiled
    check = subprocess.run([python, "-c", CHECK_INSTALL], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0, check.stderr[-2000:]
    info = json.loads(check.stdout)
    assert info["kernels"] == "cython"
    assert info["nndl"] == str(folder / "nndl" / "conv_layers.py")
    assert "conv_forward.npz" in info["expected"]

    # the kernel is the venv's python (the python3 kernelspec runs `python`, i.e. sys.executable)
    from cnn_course import REPO
    script = RUN_FIRST_NOTEBOOK.format(helpers=str(REPO / "tests" / "assignments"),
                                       notebook=str(folder / "1-ConvLayers.ipynb"),
                                       cwd=str(folder))
    run = subprocess.run([python, "-c", script], cwd=folder, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    ename, evalue = run.stdout.strip().split("\n")[-2:]
    assert ename == "NotImplementedError"
    assert evalue == ("Implement conv_forward_naive in nndl/conv_layers.py: naive convolution "
                      "forward pass.")


@pytest.mark.slow
def test_release_installs_without_a_compiler_and_falls_back_to_numpy(release, tmp_path):
    folder = tmp_path / "cnn"
    shutil.copytree(release[0], folder)
    bin_dir = make_venv(tmp_path / "venv")
    pip_install(bin_dir, "-e", folder, env={"CC": "/bin/false"})  # every compiler call fails
    python = str(bin_dir / "python")
    assert not list((folder / "utils").glob("_kernels*.so"))
    check = subprocess.run(
        [python, "-c", "import utils.fast_layers as f, numpy as np\n"
                       "x = np.ones((1, 1, 4, 4)); w = np.ones((1, 1, 3, 3))\n"
                       "out, _ = f.conv_forward_fast(x, w, np.zeros(1), {'stride': 1, 'pad': 0})\n"
                       "print(f.KERNELS, out.ravel().tolist())"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr[-2000:]
    assert check.stdout.split("\n")[0] == "numpy [9.0, 9.0, 9.0, 9.0]"
    assert "RuntimeWarning" in check.stderr
