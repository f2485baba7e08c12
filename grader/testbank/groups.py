"""The hidden test groups of each assignment: names, points, cases.

A :class:`TestGroup` says how many hidden cases it has, how many points it is
worth, which student module it exercises and how to build case ``i`` (see
:mod:`cnnkit.grader.testbank.cases`). ``naive`` groups must compute their result
themselves: using the kit's fast layers or reference there earns no credit.
"""
from dataclasses import dataclass
from functools import partial

from . import cases as C


#: accuracy of the challenge checkpoint that earns the accuracy group's full points
FULL_ACCURACY = 0.65


@dataclass(frozen=True)
class TestGroup:
    name: str
    points: float
    n_cases: int
    build: object            # build(group, index, rng) -> Case
    module_file: str         # the student file this group imports, for messages
    naive: bool = False

    def __repr__(self):
        return f"TestGroup({self.name!r}, points={self.points}, cases={self.n_cases})"


@dataclass(frozen=True)
class Assignment:
    name: str
    groups: tuple
    checkpoint: tuple        # where the challenge checkpoint may be (relative, no suffix), in order
    required: tuple          # files whose absence makes a submission ungradable (any one present is enough)

    @property
    def max_total(self):
        return sum(g.points for g in self.groups)

    def group(self, name):
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"assignment {self.name!r} has no test group {name!r}; "
                       f"groups: {', '.join(g.name for g in self.groups)}")

    def make_case(self, secret_key, group, index):
        """Case ``index`` of ``group``, reproducible from the secret."""
        g = self.group(group)
        return g.build(group, index, C.case_rng(secret_key, self.name, group, index))


def _layer(module, forward, backward, build, wrt=(), grads=(), tripwire=False):
    return partial(C.layer_case, module=module, forward=forward, backward=backward,
                   build=build, wrt=wrt, grads=grads, tripwire=tripwire)


CONV = "nndl.conv_layers"
UTILS = "nndl.conv_layer_utils"

CNN = Assignment(
    name="cnn",
    checkpoint=("checkpoints/challenge", "challenge.checkpoint", "challenge"),
    required=("nndl/conv_layers.py", "nndl/conv_layer_utils.py", "nndl/cnn.py"),
    groups=(
        TestGroup("conv_forward_naive", 10, 6, _layer(
            CONV, "conv_forward_naive", None, C.conv_case, tripwire=True),
            "nndl/conv_layers.py", naive=True),
        TestGroup("conv_backward_naive", 10, 6, _layer(
            CONV, "conv_forward_naive", "conv_backward_naive", C.conv_case,
            ("x", "w", "b"), ("dx", "dw", "db"), tripwire=True),
            "nndl/conv_layers.py", naive=True),
        TestGroup("max_pool_forward_naive", 5, 5, _layer(
            CONV, "max_pool_forward_naive", None, C.pool_case, tripwire=True),
            "nndl/conv_layers.py", naive=True),
        TestGroup("max_pool_backward_naive", 5, 5, _layer(
            CONV, "max_pool_forward_naive", "max_pool_backward_naive", C.pool_case,
            ("x",), ("dx",), tripwire=True),
            "nndl/conv_layers.py", naive=True),
        TestGroup("conv_relu_pool", 5, 3, _layer(
            UTILS, "conv_relu_pool_forward", "conv_relu_pool_backward",
            C.conv_relu_pool_case, ("x", "w", "b"),
            ("dx", "dw", "db")), "nndl/conv_layer_utils.py"),
        TestGroup("spatial_batchnorm_forward", 10, 5, _layer(
            CONV, "spatial_batchnorm_forward", None, C.batchnorm_case),
            "nndl/conv_layers.py"),
        TestGroup("spatial_batchnorm_backward", 10, 3, _layer(
            CONV, "spatial_batchnorm_forward", "spatial_batchnorm_backward", C.batchnorm_case,
            ("x", "gamma", "beta"), ("dx", "dgamma", "dbeta")), "nndl/conv_layers.py"),
        TestGroup("three_layer_convnet", 25, 6, partial(
            C.model_case, module="nndl.cnn", cls="ThreeLayerConvNet"), "nndl/cnn.py"),
        TestGroup("cifar10_accuracy", 20, 1, partial(
            C.accuracy_case, checkpoint="checkpoint"), "checkpoints/challenge.npz"),
    ),
)

ASSIGNMENTS = {"cnn": CNN}


def get_assignment(name):
    """The assignment called ``name``; ValueError listing the known ones otherwise."""
    try:
        return ASSIGNMENTS[name]
    except KeyError:
        raise ValueError(f"unknown assignment {name!r}; known assignments: "
                         f"{', '.join(sorted(ASSIGNMENTS))}") from None
