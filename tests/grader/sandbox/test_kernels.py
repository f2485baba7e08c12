"""The grader lends its compiled kernels to a sandbox only for an unmodified release copy."""
import shutil

import pytest

from cnnkit.grader.sandbox.kernels import _compiled, kernels_for


def test_kernels_lent_only_for_the_release_copy(builds, tmp_path):
    if _compiled() is None:
        pytest.skip("the reference kernels are not compiled (or are older than their source)")
    assert kernels_for(builds["solution"]) == _compiled()[0]
    shutil.copytree(builds["solution"], tmp_path / "edited")
    pyx = tmp_path / "edited" / "utils" / "_kernels.pyx"
    pyx.write_text(pyx.read_text() + "\n# edited\n")
    assert kernels_for(tmp_path / "edited") is None
    pyx.unlink()
    assert kernels_for(tmp_path / "edited") is None
