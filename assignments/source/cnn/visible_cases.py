"""Inputs and expected outputs of the notebooks' visible checks (instructor only).

``cnnkit assign`` calls :func:`build_cases` and stores each case as
``utils/expected/<name>.npz`` in the release; ``utils/feedback.py`` loads them.
Expected values come from ``cnnkit.reference``, so they are never retyped.
"""
import numpy as np


def _rng(name):
    """A generator seeded from the case name, so every case is reproducible."""
    return np.random.default_rng(sum(ord(c) * 31 ** i for i, c in enumerate(name)) % 2**32)


def _conv_forward(ref):
    rng = _rng("conv_forward")
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((3, 3, 3, 2))
    b = rng.standard_normal(3)
    out, _ = ref.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    return dict(x=x, w=w, b=b, stride=np.array(2), pad=np.array(1), out=out)


def _conv_backward(ref):
    rng = _rng("conv_backward")
    x = rng.standard_normal((2, 3, 5, 4))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    out, cache = ref.conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = ref.conv_backward_naive(dout, cache)
    return dict(x=x, w=w, b=b, stride=np.array(1), pad=np.array(1), dout=dout,
                dx=dx, dw=dw, db=db)


def _max_pool(ref):
    rng = _rng("max_pool")
    x = rng.standard_normal((2, 3, 5, 7))
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    out, cache = ref.max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx = ref.max_pool_backward_naive(dout, cache)
    return dict(x=x, pool_height=np.array(3), pool_width=np.array(3), stride=np.array(2),
                out=out, dout=dout, dx=dx)


def _spatial_batchnorm(ref):
    rng = _rng("spatial_batchnorm")
    x = 4 * rng.standard_normal((4, 3, 5, 5)) + 10
    gamma = rng.standard_normal(3)
    beta = rng.standard_normal(3)
    bn_param = {"mode": "train"}
    out, cache = ref.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    dout = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = ref.spatial_batchnorm_backward(dout, cache)
    x_test = 4 * rng.standard_normal((2, 3, 5, 5)) + 10
    test_param = dict(bn_param, mode="test")
    out_test, _ = ref.spatial_batchnorm_forward(x_test, gamma, beta, test_param)
    return dict(x=x, gamma=gamma, beta=beta, out=out,
                running_mean=bn_param["running_mean"], running_var=bn_param["running_var"],
                dout=dout, dx=dx, dgamma=dgamma, dbeta=dbeta,
                x_test=x_test, out_test=out_test)


def _three_layer_convnet(ref):
    from cnnkit.reference.cnn import ThreeLayerConvNet
    rng = _rng("three_layer_convnet")
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=3, filter_size=3,
                              hidden_dim=7, num_classes=4, weight_scale=0.1, reg=0.1,
                              dtype=np.float64, seed=0)
    for key in model.params:
        model.params[key] = rng.standard_normal(model.params[key].shape)
    X = rng.standard_normal((2, 3, 8, 8))
    y = np.array([1, 3])
    scores = model.loss(X)
    loss, grads = model.loss(X, y)
    case = dict(X=X, y=y, scores=scores, loss=np.array(loss))
    case.update({f"param_{k}": v for k, v in model.params.items()})
    case.update({f"grad_{k}": v for k, v in grads.items()})
    return case


def build_cases():
    """Return ``{case name: {array name: ndarray}}`` for every visible check."""
    import cnnkit.reference.conv_layers as ref
    return {
        "conv_forward": _conv_forward(ref),
        "conv_backward": _conv_backward(ref),
        "max_pool": _max_pool(ref),
        "spatial_batchnorm": _spatial_batchnorm(ref),
        "three_layer_convnet": _three_layer_convnet(ref),
    }
