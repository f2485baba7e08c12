"""ConvNet: [conv-(bn)-relu-(pool)]xN - [affine-(bn)-relu]xM - affine - softmax."""
import numpy as np

from . import conv_layer_utils as conv_utils
from . import layer_utils
from .layers import affine_backward, affine_forward, softmax_loss

_CONV_BLOCKS = {  # (batchnorm, pool) -> sandwich layer name
    (False, False): "conv_relu", (False, True): "conv_relu_pool",
    (True, False): "conv_bn_relu", (True, True): "conv_bn_relu_pool",
}


class ConvNet:
    """A configurable convolutional network.

    Parameters
    ----------
    input_dim : (C, H, W) of one input.
    num_filters : filters of each conv block, e.g. ``[32, 64, 128]``.
    filter_size : odd int or one odd int per conv block; stride 1, padding
        ``(filter_size - 1) // 2`` keeps the spatial size.
    pool : bool or one bool per conv block: a 2x2, stride 2 max pool after it.
    hidden_dims : sizes of the affine-(bn)-relu blocks after the conv blocks.
    num_classes : scores per input.
    weight_scale : standard deviation of the initial weights, or ``"he"`` for
        ``sqrt(2 / fan_in)`` per layer.
    reg : L2 regularisation strength on every weight matrix (not biases,
        gammas or betas); the loss adds ``0.5 * reg * sum(W**2)``.
    use_batchnorm : batch normalization after every conv and hidden affine.
    dtype : float32 for training, float64 for gradient checks.
    seed : seed of the initial weights.

    Parameters are named ``W1, b1, gamma1, beta1, ...`` in layer order; the
    final affine layer has no batch normalization.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=(32, 64, 128), filter_size=3,
                 pool=True, hidden_dims=(), num_classes=10, weight_scale="he", reg=0.0,
                 use_batchnorm=True, dtype=np.float32, seed=None):
        n_conv = len(num_filters)
        sizes = [filter_size] * n_conv if np.isscalar(filter_size) else list(filter_size)
        pools = [pool] * n_conv if isinstance(pool, bool) else list(pool)
        if len(sizes) != n_conv or len(pools) != n_conv:
            raise ValueError(f"filter_size and pool need one entry per conv block ({n_conv}), "
                             f"got {sizes} and {pools}")
        if any(s % 2 == 0 for s in sizes):
            raise ValueError(f"every filter_size must be odd so padding keeps the size, got {sizes}")
        self.config = dict(input_dim=list(input_dim), num_filters=list(num_filters),
                           filter_size=sizes, pool=pools, hidden_dims=list(hidden_dims),
                           num_classes=num_classes, weight_scale=weight_scale, reg=reg,
                           use_batchnorm=use_batchnorm, dtype=np.dtype(dtype).name)
        self.reg = reg
        self.dtype = np.dtype(dtype)
        self.use_batchnorm = use_batchnorm
        self.sizes, self.pools = sizes, pools
        rng = np.random.default_rng(seed)
        C, H, W = input_dim
        self.params = {}
        layer = 0
        for F, size, pooled in zip(num_filters, sizes, pools):
            layer += 1
            self._init_layer(rng, layer, (F, C, size, size), C * size * size, weight_scale)
            if pooled:
                if H % 2 or W % 2:
                    raise ValueError(f"conv block {layer} pools a {H}x{W} map; 2x2 pooling "
                                     "needs even height and width")
                H, W = H // 2, W // 2
            C = F
        fan_in = C * H * W
        for hidden in hidden_dims:
            layer += 1
            self._init_layer(rng, layer, (fan_in, hidden), fan_in, weight_scale)
            fan_in = hidden
        layer += 1
        self._init_layer(rng, layer, (fan_in, num_classes), fan_in, weight_scale, bn=False)
        self.num_layers = layer
        self.n_conv = n_conv
        self.bn_params = {i: {"mode": "train"} for i in range(1, layer) if use_batchnorm}

    def _init_layer(self, rng, i, shape, fan_in, weight_scale, bn=True):
        scale = np.sqrt(2.0 / fan_in) if weight_scale == "he" else float(weight_scale)
        self.params[f"W{i}"] = (scale * rng.standard_normal(shape)).astype(self.dtype)
        self.params[f"b{i}"] = np.zeros(shape[0] if len(shape) == 4 else shape[1], self.dtype)
        if bn and self.use_batchnorm:
            n = self.params[f"b{i}"].shape[0]
            self.params[f"gamma{i}"] = np.ones(n, self.dtype)
            self.params[f"beta{i}"] = np.zeros(n, self.dtype)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"ConvNet({args})"

    def loss(self, X, y=None):
        """Scores (N, num_classes) if ``y`` is None, else ``(loss, grads)``.

        X : (N, C, H, W); y : (N,) labels. ``grads`` has the keys of ``params``.
        """
        p = self.params
        mode = "test" if y is None else "train"
        for bn_param in self.bn_params.values():
            bn_param["mode"] = mode
        h = X.astype(self.dtype, copy=False)
        caches = []
        for i in range(1, self.n_conv + 1):
            args = [h, p[f"W{i}"], p[f"b{i}"]]
            if self.use_batchnorm:
                args += [p[f"gamma{i}"], p[f"beta{i}"]]
            args.append({"stride": 1, "pad": (self.sizes[i - 1] - 1) // 2})
            if self.use_batchnorm:
                args.append(self.bn_params[i])
            if self.pools[i - 1]:
                args.append({"pool_height": 2, "pool_width": 2, "stride": 2})
            name = _CONV_BLOCKS[self.use_batchnorm, self.pools[i - 1]]
            h, cache = getattr(conv_utils, name + "_forward")(*args)
            caches.append((conv_utils, name, cache))
        for i in range(self.n_conv + 1, self.num_layers):
            if self.use_batchnorm:
                h, cache = layer_utils.affine_bn_relu_forward(
                    h, p[f"W{i}"], p[f"b{i}"], p[f"gamma{i}"], p[f"beta{i}"], self.bn_params[i])
                caches.append((layer_utils, "affine_bn_relu", cache))
            else:
                h, cache = layer_utils.affine_relu_forward(h, p[f"W{i}"], p[f"b{i}"])
                caches.append((layer_utils, "affine_relu", cache))
        last = self.num_layers
        scores, last_cache = affine_forward(h, p[f"W{last}"], p[f"b{last}"])
        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads[f"W{last}"], grads[f"b{last}"] = affine_backward(dscores, last_cache)
        for i in range(last - 1, 0, -1):
            module, name, cache = caches[i - 1]
            backward = getattr(module, name + "_backward")
            if i == 1 and module is conv_utils:     # the data needs no gradient
                dh, *layer_grads = backward(dh, cache, need_dx=False)
            else:
                dh, *layer_grads = backward(dh, cache)
            keys = ["W", "b", "gamma", "beta"][:len(layer_grads)]
            grads.update({f"{k}{i}": g for k, g in zip(keys, layer_grads)})
        for i in range(1, last + 1):
            W = p[f"W{i}"]
            loss += 0.5 * self.reg * float(np.sum(W * W))
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads
