"""ThreeLayerConvNet: your first convolutional network."""
import numpy as np

from nndl.conv_layer_utils import (conv_bn_relu_pool_backward, conv_bn_relu_pool_forward,
                                   conv_relu_pool_backward, conv_relu_pool_forward)
from nndl.layer_utils import (affine_bn_relu_backward, affine_bn_relu_forward,
                              affine_relu_backward, affine_relu_forward)
from nndl.layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    """A three-layer convolutional network.

    conv - [spatial batchnorm] - relu - 2x2 max pool - affine - [batchnorm] -
    relu - affine - softmax

    The convolution has ``num_filters`` filters of ``filter_size`` x
    ``filter_size``, stride 1 and padding ``(filter_size - 1) // 2`` so the
    output keeps the input's height and width. The pool halves them.

    Parameters
    ----------
    input_dim : (C, H, W) size of one input image.
    num_filters : F, number of convolution filters.
    filter_size : odd width and height of each filter.
    hidden_dim : number of units of the hidden affine layer.
    num_classes : number of scores to produce.
    weight_scale : standard deviation of the random initial weights.
    reg : L2 regularization strength.
    dtype : numpy dtype of every parameter (np.float64 for gradient checks).
    use_batchnorm : whether to add the two batch normalization layers.
    seed : seed for the initial weights (None: fresh entropy).

    Attributes
    ----------
    params : dict of arrays ``W1`` (F, C, filter_size, filter_size), ``b1``
        (F,), ``W2`` (F * H/2 * W/2, hidden_dim), ``b2`` (hidden_dim,), ``W3``
        (hidden_dim, num_classes), ``b3`` (num_classes,), and with batch
        normalization ``gamma1``, ``beta1`` (F,), ``gamma2``, ``beta2``
        (hidden_dim,). Weights start as N(0, weight_scale**2), biases and
        betas at zero, gammas at one.
    bn_params : list of two bn_param dicts when use_batchnorm, else empty.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7,
                 hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=np.float32, use_batchnorm=False, seed=None):
        """Create ``params`` (and ``bn_params``) as the class docstring describes."""
        self.params = {}
        self.bn_params = []
        self.reg = reg
        self.dtype = dtype
        self.use_batchnorm = use_batchnorm
        self.filter_size = filter_size
        rng = np.random.default_rng(seed)
        ### BEGIN SOLUTION
        C, H, W = input_dim
        F = num_filters
        self.params['W1'] = weight_scale * rng.standard_normal((F, C, filter_size, filter_size))
        self.params['b1'] = np.zeros(F)
        self.params['W2'] = weight_scale * rng.standard_normal((F * (H // 2) * (W // 2), hidden_dim))
        self.params['b2'] = np.zeros(hidden_dim)
        self.params['W3'] = weight_scale * rng.standard_normal((hidden_dim, num_classes))
        self.params['b3'] = np.zeros(num_classes)
        if use_batchnorm:
            self.params['gamma1'] = np.ones(F)
            self.params['beta1'] = np.zeros(F)
            self.params['gamma2'] = np.ones(hidden_dim)
            self.params['beta2'] = np.zeros(hidden_dim)
            self.bn_params = [{'mode': 'train'}, {'mode': 'train'}]
        ### END SOLUTION
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : (N, C, H, W) input images.
        y : (N,) integer labels, or None.

        Returns
        -------
        If y is None: scores (N, num_classes), computed in test mode.
        Otherwise ``(loss, grads)``: the softmax loss plus
        ``0.5 * reg * (sum(W1**2) + sum(W2**2) + sum(W3**2))``, and a dict
        with the gradient of the loss for every key of ``params``.
        """
        conv_param = {'stride': 1, 'pad': (self.filter_size - 1) // 2}
        pool_param = {'pool_height': 2, 'pool_width': 2, 'stride': 2}
        mode = 'test' if y is None else 'train'
        for bn_param in self.bn_params:
            bn_param['mode'] = mode
        X = X.astype(self.dtype, copy=False)
        scores = None
        ### BEGIN SOLUTION
        p = self.params
        if self.use_batchnorm:
            h1, cache1 = conv_bn_relu_pool_forward(X, p['W1'], p['b1'], p['gamma1'], p['beta1'],
                                                   conv_param, self.bn_params[0], pool_param)
            h2, cache2 = affine_bn_relu_forward(h1, p['W2'], p['b2'], p['gamma2'], p['beta2'],
                                                self.bn_params[1])
        else:
            h1, cache1 = conv_relu_pool_forward(X, p['W1'], p['b1'], conv_param, pool_param)
            h2, cache2 = affine_relu_forward(h1, p['W2'], p['b2'])
        scores, cache3 = affine_forward(h2, p['W3'], p['b3'])
        ### END SOLUTION
        if y is None:
            return scores

        loss, grads = 0, {}
        ### BEGIN SOLUTION
        loss, dscores = softmax_loss(scores, y)
        for k in ('W1', 'W2', 'W3'):
            loss += 0.5 * self.reg * np.sum(p[k] ** 2)
        dh2, grads['W3'], grads['b3'] = affine_backward(dscores, cache3)
        if self.use_batchnorm:
            dh1, grads['W2'], grads['b2'], grads['gamma2'], grads['beta2'] = \
                affine_bn_relu_backward(dh2, cache2)
            _, grads['W1'], grads['b1'], grads['gamma1'], grads['beta1'] = \
                conv_bn_relu_pool_backward(dh1, cache1)
        else:
            dh1, grads['W2'], grads['b2'] = affine_relu_backward(dh2, cache2)
            _, grads['W1'], grads['b1'] = conv_relu_pool_backward(dh1, cache1)
        for k in ('W1', 'W2', 'W3'):
            grads[k] = grads[k] + self.reg * p[k]
        ### END SOLUTION
        return loss, grads
