"""ThreeLayerConvNet: conv - relu - 2x2 max pool - affine - relu - affine - softmax."""
import numpy as np

from .conv_layer_utils import (conv_bn_relu_pool_backward, conv_bn_relu_pool_forward,
                               conv_relu_pool_backward, conv_relu_pool_forward)
from .layer_utils import (affine_bn_relu_backward, affine_bn_relu_forward,
                          affine_relu_backward, affine_relu_forward)
from .layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    """A three-layer convolutional network, optionally with batch normalization.

    conv (``num_filters`` filters of ``filter_size`` x ``filter_size``, stride 1,
    padding that keeps the size) - [spatial batchnorm] - relu - 2x2 max pool -
    affine (``hidden_dim``) - [batchnorm] - relu - affine - softmax.

    Parameters are ``W1`` (F, C, HH, WW), ``b1`` (F,), ``W2`` (F*H/2*W/2, hidden),
    ``b2``, ``W3`` (hidden, num_classes), ``b3``, and with batch normalization
    ``gamma1``/``beta1`` (F,) and ``gamma2``/``beta2`` (hidden,). Weights are
    drawn from N(0, weight_scale**2), biases start at zero, gammas at one.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7,
                 hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=np.float32, use_batchnorm=False, seed=None):
        C, H, W = input_dim
        if filter_size % 2 == 0:
            raise ValueError(f"filter_size must be odd so padding keeps the size, got {filter_size}")
        if H % 2 or W % 2:
            raise ValueError(f"input_dim height and width must be even for 2x2 pooling, got {input_dim}")
        rng = np.random.default_rng(seed)
        self.reg = reg
        self.dtype = dtype
        self.use_batchnorm = use_batchnorm
        self.filter_size = filter_size
        pooled = num_filters * (H // 2) * (W // 2)
        self.params = {
            "W1": weight_scale * rng.standard_normal((num_filters, C, filter_size, filter_size)),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * rng.standard_normal((pooled, hidden_dim)),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b3": np.zeros(num_classes),
        }
        self.bn_params = []
        if use_batchnorm:
            self.params.update(gamma1=np.ones(num_filters), beta1=np.zeros(num_filters),
                               gamma2=np.ones(hidden_dim), beta2=np.zeros(hidden_dim))
            self.bn_params = [{"mode": "train"}, {"mode": "train"}]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def __repr__(self):
        F, C, HH, _ = self.params["W1"].shape
        return (f"ThreeLayerConvNet(num_filters={F}, filter_size={HH}, "
                f"hidden_dim={self.params['W2'].shape[1]}, "
                f"num_classes={self.params['W3'].shape[1]}, reg={self.reg}, "
                f"use_batchnorm={self.use_batchnorm})")

    def loss(self, X, y=None):
        """Scores (N, num_classes) if ``y`` is None, else ``(loss, grads)``.

        X : (N, C, H, W); y : (N,) labels. ``grads`` has the keys of ``params``.
        The loss is softmax cross-entropy plus ``0.5 * reg * sum(W**2)`` over
        W1, W2 and W3.
        """
        p = self.params
        conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        mode = "test" if y is None else "train"
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        X = X.astype(self.dtype, copy=False)
        if self.use_batchnorm:
            h1, cache1 = conv_bn_relu_pool_forward(X, p["W1"], p["b1"], p["gamma1"], p["beta1"],
                                                   conv_param, self.bn_params[0], pool_param)
            h2, cache2 = affine_bn_relu_forward(h1, p["W2"], p["b2"], p["gamma2"], p["beta2"],
                                                self.bn_params[1])
        else:
            h1, cache1 = conv_relu_pool_forward(X, p["W1"], p["b1"], conv_param, pool_param)
            h2, cache2 = affine_relu_forward(h1, p["W2"], p["b2"])
        scores, cache3 = affine_forward(h2, p["W3"], p["b3"])
        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        weights = ("W1", "W2", "W3")
        loss = data_loss + 0.5 * self.reg * sum(float(np.sum(p[k] ** 2)) for k in weights)
        grads = {}
        dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
        if self.use_batchnorm:
            dh1, grads["W2"], grads["b2"], grads["gamma2"], grads["beta2"] = \
                affine_bn_relu_backward(dh2, cache2)
            _, grads["W1"], grads["b1"], grads["gamma1"], grads["beta1"] = \
                conv_bn_relu_pool_backward(dh1, cache1, need_dx=False)
        else:
            dh1, grads["W2"], grads["b2"] = affine_relu_backward(dh2, cache2)
            _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dh1, cache1,
                                                                  need_dx=False)
        for k in weights:
            grads[k] = grads[k] + self.reg * p[k]
        return loss, grads
