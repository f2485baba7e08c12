"""The static check finds naive functions that lean on the fast layers or the kit."""
from cnnkit.grader.compare.static_check import violations

SOURCE = '''
import numpy as np
from utils.fast_layers import conv_forward_fast as cff
import utils.fast_layers

def conv_forward_naive(x, w, b, conv_param):
    return cff(x, w, b, conv_param)

def conv_backward_naive(dout, cache):
    return utils.fast_layers.conv_backward_fast(dout, cache)

def max_pool_forward_naive(x, pool_param):
    from cnnkit.reference import max_pool_forward_naive as ref
    return ref(x, pool_param)

def max_pool_backward_naive(dout, cache):
    mod = __import__("utils.fast_layers")
    return None

def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    return np.maximum(x, 0), None
'''


def test_finds_each_way_of_using_forbidden_code():
    names = {"conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
             "max_pool_backward_naive", "spatial_batchnorm_forward"}
    found = violations(SOURCE, names)
    assert found["conv_forward_naive"] == ["uses cff (from utils.fast_layers.conv_forward_fast)"]
    assert found["conv_backward_naive"] == ["uses utils (from utils.fast_layers)"]
    assert found["max_pool_forward_naive"] == [
        "imports cnnkit.reference", "uses ref (from cnnkit.reference.max_pool_forward_naive)"]
    assert found["max_pool_backward_naive"] == ["imports a module dynamically"]
    assert "spatial_batchnorm_forward" not in found


def test_finds_the_numpy_kernels_behind_the_fast_layers():
    # The fast layers' numpy fallback holds im2col and friends: a naive layer
    # must not borrow them either.
    source = (
        "import numpy as np\n"
        "from utils._numpy_kernels import im2col_nchw\n"
        "import utils._numpy_kernels as kernels\n"
        "def conv_forward_naive(x, w, b, conv_param):\n"
        "    return im2col_nchw(x, None, 3, 3, 1, 1)\n"
        "def conv_backward_naive(dout, cache):\n"
        "    return kernels.col2im_nchw(dout, None, 3, 3, 1, 1)\n")
    found = violations(source, {"conv_forward_naive", "conv_backward_naive"})
    assert found["conv_forward_naive"] == [
        "uses im2col_nchw (from utils._numpy_kernels.im2col_nchw)"]
    assert found["conv_backward_naive"] == ["uses kernels (from utils._numpy_kernels)"]


def test_solution_build_is_clean(builds):
    source = (builds["solution"] / "nndl" / "conv_layers.py").read_text()
    assert violations(source, {"conv_forward_naive", "conv_backward_naive",
                               "max_pool_forward_naive", "max_pool_backward_naive"}) == {}


def test_syntax_errors_are_left_to_the_sandbox():
    assert violations("def conv_forward_naive(:\n", {"conv_forward_naive"}) == {}


def test_finds_the_release_stepper_which_computes_through_the_fast_layers():
    source = ("from utils.stepper.frames import conv_frames\n"
              "def conv_forward_naive(x, w, b, conv_param):\n"
              "    return conv_frames(x[0], w, b, conv_param).out[None], None\n")
    assert violations(source, {"conv_forward_naive"}) == {
        "conv_forward_naive": ["uses conv_frames (from utils.stepper.frames.conv_frames)"]}
