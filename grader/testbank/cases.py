"""Hidden test cases, drawn from the course secret.

Every case is reproducible from ``(secret, group, index)``: its random
generator is seeded with ``sha256(secret | assignment | group | index)``, so
results record the group and case index, never the seed. Each group walks a
fixed list of *shapes of trouble* (stride 1-3, pad 0-3, non-square filters and
inputs, one channel, batch of one, overlapping and gap-leaving pooling, batch
norm in train and test mode) and randomises the sizes and values within it.

A :class:`Case` holds the float64 input arrays, the JSON call description the
sandbox harness needs, a human description (shapes and parameters) for
messages, and its *kinds*: labels of what the case varies, read off the values
it was built with ("stride 3", "pad 0", "non-square filter", "overlapping
windows"), which the class report counts pass rates by. Expected values are
computed separately, in the parent, by :mod:`cnnkit.grader.testbank.expected`.
"""
import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..sandbox.harness import resolve
from .reference_functions import REFERENCE

#: step for the directional derivative checks of backward passes
H = 1e-5
#: random directions per differentiated input
DIRECTIONS = 2


@dataclass
class Case:
    """One hidden case: the harness ``call``, its ``arrays`` and a ``describe`` string."""
    group: str
    index: int
    call: dict
    arrays: dict = field(default_factory=dict)
    describe: str = ""
    kinds: tuple = ()

    def __repr__(self):
        shapes = {k: v.shape for k, v in self.arrays.items() if not k.startswith("dir_")}
        return f"Case({self.group!r}, {self.index}, {self.call['kind']!r}, {shapes})"


def case_rng(secret_key, assignment, group, index):
    """The generator of one case: seeded from the secret, the group and the index."""
    digest = hashlib.sha256(secret_key + f"|{assignment}|{group}|{index}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def _length(rng, stride, window, pad, outs):
    """An input length with an exact, random output length for this window."""
    n_out = int(rng.choice(outs))
    while (n_out - 1) * stride + window - 2 * pad < 1:
        n_out += 1
    return (n_out - 1) * stride + window - 2 * pad, n_out


def shape_kinds(x_shape, window=None):
    """Kinds every layer case shares: one channel, batch of one, non-square input/window."""
    N, C, H, W = x_shape
    kinds = []
    if window is not None and window[0] != window[1]:
        kinds.append(f"non-square {window[2]}")
    if H != W:
        kinds.append("non-square input")
    if C == 1:
        kinds.append("one channel")
    if N == 1:
        kinds.append("batch of one")
    return kinds


def window_kind(height, width, stride):
    """How neighbouring windows of this size and stride sit: overlapping, tiling or with gaps."""
    if stride < max(height, width):
        return "overlapping windows"
    return "tiling windows" if stride == height == width else "windows with gaps"


def _add_directions(case, rng, wrt):
    """Random unit directions for the directional-derivative check of ``wrt`` inputs."""
    for name in wrt:
        for k in range(DIRECTIONS):
            v = rng.standard_normal(case.arrays[name].shape)
            case.arrays[f"dir_{name}_{k}"] = v / np.linalg.norm(v)


# --- convolution --------------------------------------------------------------------

#: (stride, pad, one_channel, batch_of_one, square_filter, square_input)
CONV_SHAPES = [
    (1, 0, True, False, True, True),
    (2, 1, False, True, False, True),
    (3, 2, False, False, True, False),
    (1, 3, False, False, False, False),
    (2, 0, True, True, False, False),
    (3, 1, False, False, False, True),
]


def conv_case(rng, index, backward):
    stride, pad, one_c, one_n, sq_f, sq_in = CONV_SHAPES[index % len(CONV_SHAPES)]
    N = 1 if one_n else int(rng.integers(2, 4))
    C = 1 if one_c else int(rng.integers(2, 4))
    F = int(rng.integers(1, 4))
    HH = int(rng.integers(1, 5))
    WW = HH if sq_f else int(rng.choice([k for k in range(1, 5) if k != HH]))
    outs = [2, 3] if backward else [2, 3, 4]
    H, Ho = _length(rng, stride, HH, pad, outs)
    W, Wo = _length(rng, stride, WW, pad, [Ho] if sq_in else outs)
    if not sq_in and W == H:
        W += stride
    conv_param = {"stride": stride, "pad": pad}
    arrays = {"x": rng.standard_normal((N, C, H, W)),
              "w": rng.standard_normal((F, C, HH, WW)) * 0.5,
              "b": rng.standard_normal(F)}
    describe = (f"x {arrays['x'].shape}, w {arrays['w'].shape}, b {arrays['b'].shape}, "
                f"conv_param {conv_param}")
    kinds = [f"stride {stride}", f"pad {pad}", *shape_kinds((N, C, H, W), (HH, WW, "filter"))]
    return arrays, {"conv_param": conv_param}, describe, kinds


def pool_values(rng, shape):
    """Distinct values at least 0.1 apart, so no window has a near-tie."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) * 0.1 + rng.uniform(0, 0.01)


#: (pool_height, pool_width, stride, one_channel, batch_of_one, square_input)
POOL_SHAPES = [
    (2, 2, 2, False, False, True),     # tiling
    (3, 3, 2, False, True, False),     # overlapping
    (2, 3, 1, True, False, False),     # overlapping, non-square window
    (2, 2, 3, False, False, True),     # gaps between windows
    (3, 2, 2, True, True, False),      # non-square window and input
]


def pool_case(rng, index, backward):
    HP, WP, stride, one_c, one_n, sq_in = POOL_SHAPES[index % len(POOL_SHAPES)]
    N = 1 if one_n else int(rng.integers(2, 4))
    C = 1 if one_c else int(rng.integers(2, 4))
    outs = [2, 3] if backward else [2, 3, 4]
    Ho = int(rng.choice(outs))
    Wo = Ho if sq_in else Ho + 1
    shape = (N, C, (Ho - 1) * stride + HP, (Wo - 1) * stride + WP)
    pool_param = {"pool_height": HP, "pool_width": WP, "stride": stride}
    arrays = {"x": pool_values(rng, shape)}
    kinds = [window_kind(HP, WP, stride), *shape_kinds(shape, (HP, WP, "window"))]
    return arrays, {"pool_param": pool_param}, f"x {shape}, pool_param {pool_param}", kinds


# --- sandwich, batch norm -----------------------------------------------------------

#: (filter, pad, pool, pool stride, H, W)
CRP_SHAPES = [(3, 1, 2, 2, 6, 6), (5, 2, 2, 2, 4, 8), (3, 0, 3, 1, 7, 5)]


def conv_relu_pool_case(rng, index, backward=True):
    k, pad, P, ps, H, W = CRP_SHAPES[index % len(CRP_SHAPES)]
    N, C, F = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(2, 4))
    conv_param = {"stride": 1, "pad": pad}
    pool_param = {"pool_height": P, "pool_width": P, "stride": ps}
    arrays = {"x": rng.standard_normal((N, C, H, W)),
              "w": rng.standard_normal((F, C, k, k)) * 0.5,
              "b": rng.standard_normal(F) * 0.5}
    describe = (f"x {arrays['x'].shape}, w {arrays['w'].shape}, conv_param {conv_param}, "
                f"pool_param {pool_param}")
    kinds = [f"{k}x{k} filter, pad {pad}", f"pool {window_kind(P, P, ps)}",
             *shape_kinds((N, C, H, W))]
    return arrays, {"conv_param": conv_param, "pool_param": pool_param}, describe, kinds


#: (mode, momentum, eps, one_channel, batch_of_one)
BN_SHAPES = [("train", 0.9, 1e-5, False, False), ("train", 0.7, 1e-3, True, True),
             ("test", 0.9, 1e-5, False, False), ("train", 0.5, 1e-5, False, True),
             ("test", 0.8, 1e-2, True, False)]


def batchnorm_case(rng, index, backward):
    mode, momentum, eps, one_c, one_n = BN_SHAPES[index % len(BN_SHAPES)]
    if backward:
        mode = "train"
    N = 1 if one_n else int(rng.integers(2, 4))
    C = 1 if one_c else int(rng.integers(2, 5))
    H, W = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    arrays = {"x": rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), (N, C, H, W)),
              "gamma": rng.uniform(0.5, 2, C), "beta": rng.standard_normal(C),
              "running_mean": rng.standard_normal(C), "running_var": rng.uniform(0.5, 2, C)}
    bn_param = {"mode": mode, "momentum": momentum, "eps": eps,
                "running_mean": "@running_mean", "running_var": "@running_var"}
    describe = f"x {arrays['x'].shape}, bn_param mode={mode!r} momentum={momentum} eps={eps}"
    kinds = [f"{mode} mode", *shape_kinds((N, C, H, W))]
    return arrays, {"bn_param": bn_param}, describe, kinds


# --- building cases for each kind of group -------------------------------------------

def layer_case(group, index, rng, *, module, forward, backward, build, wrt, grads,
               tripwire):
    """A case calling ``module.forward`` (and ``backward`` on a random ``dout``)."""
    arrays, params, describe, kinds = build(rng, index, backward is not None)
    order = {"conv_forward_naive": ["@x", "@w", "@b", params.get("conv_param")],
             "max_pool_forward_naive": ["@x", params.get("pool_param")],
             "conv_relu_pool_forward": ["@x", "@w", "@b", params.get("conv_param"),
                                        params.get("pool_param")],
             "spatial_batchnorm_forward": ["@x", "@gamma", "@beta", params.get("bn_param")]}
    # the cache the docstrings prescribe, so a backward is tested even if its forward is wrong
    canonical = {"conv_backward_naive": ["@x", "@w", "@b", params.get("conv_param")],
                 "max_pool_backward_naive": ["@x", params.get("pool_param")]}
    call = {"kind": "layer", "module": module, "forward": forward, "backward": backward,
            "args": order[forward], "tripwire": tripwire, "wrt": [], "grads": [],
            "h": H, "report_arg": 3 if forward == "spatial_batchnorm_forward" else None,
            "canonical_cache": canonical.get(backward),
            "forward_group": ("spatial_batchnorm_forward"
                              if backward == "spatial_batchnorm_backward" else None)}
    case = Case(group, index, call, arrays, describe, tuple(kinds))
    if backward is not None:
        out = REFERENCE[forward](*resolve(call["args"], arrays))[0]  # it fixes dout's shape
        arrays["dout"] = rng.standard_normal(out.shape)
        call["wrt"], call["grads"] = list(wrt), list(grads)
        if call["forward_group"]:  # for the derivative-of-your-own-forward check
            _add_directions(case, rng, wrt)
    return case


#: (input_dim, filter_size, weight_scale exponent range, reg, batch)
MODEL_SHAPES = [
    ("init", (3, 8, 8), 3, 0.0, 0), ("init", (1, 6, 10), 5, 0.0, 0),
    ("scores", (3, 6, 6), 3, 0.0, 3), ("loss", (2, 6, 6), 3, 0.0, 4),
    ("loss", (3, 6, 8), 3, 0.3, 3), ("loss", (1, 4, 6), 5, 1.0, 1),
]


def model_case(group, index, rng, *, module, cls):
    """A ThreeLayerConvNet case: construct, or get scores / loss and gradients."""
    what, input_dim, fs, reg, N = MODEL_SHAPES[index % len(MODEL_SHAPES)]
    kwargs = {"input_dim": list(input_dim), "num_filters": int(rng.integers(3, 6)),
              "filter_size": fs, "hidden_dim": int(rng.integers(6, 12)),
              "num_classes": int(rng.integers(3, 7)),
              "weight_scale": float(f"{10 ** rng.uniform(-3, -1):.2g}"), "reg": reg}
    call = {"kind": f"model_{what}", "module": module, "class": cls, "kwargs": kwargs,
            "dtype": "float64"}
    describe = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v}"
                         for k, v in kwargs.items())
    arrays = {}
    if what != "init":
        C, Hh, Ww = input_dim
        F, hid, ncls = kwargs["num_filters"], kwargs["hidden_dim"], kwargs["num_classes"]
        shapes = {"W1": (F, C, fs, fs), "b1": (F,), "W2": (F * (Hh // 2) * (Ww // 2), hid),
                  "b2": (hid,), "W3": (hid, ncls), "b3": (ncls,)}
        scales = {"W1": 0.5, "W2": 0.2, "W3": 0.5, "b1": 0.1, "b2": 0.1, "b3": 0.1}
        for key, shape in shapes.items():
            arrays[f"param_{key}"] = rng.standard_normal(shape) * scales[key]
        arrays["X"] = rng.standard_normal((N, C, Hh, Ww))
        if what == "loss":
            arrays["y"] = rng.integers(0, ncls, N).astype(np.int64)
        describe += f", X {arrays['X'].shape}"
    kinds = {"init": ["parameter shapes and scale"], "scores": ["scores (y=None)"],
             "loss": ["loss and gradients", f"reg {reg:g}"]}[what]
    if input_dim[0] == 1:
        kinds.append("one channel")
    if input_dim[1] != input_dim[2]:
        kinds.append("non-square input")
    if N == 1:
        kinds.append("batch of one")
    return Case(group, index, call, arrays, describe, tuple(kinds))


def accuracy_case(group, index, rng, *, checkpoint):
    """The accuracy case: predict labels for the held-out images (added by the sandbox step)."""
    call = {"kind": "predict", "checkpoint": checkpoint, "images": "heldout.npy",
            "batch": 100}
    return Case(group, index, call, {}, "held-out CIFAR-10 test images",
                ("held-out accuracy",))
