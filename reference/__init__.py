"""cnnkit.reference: the complete, fast implementation of every layer the course uses.

Every public function and class is importable from here, e.g.
``from cnnkit.reference import conv_forward_naive, conv_forward_fast, Solver``.
"""
from .layers import (affine_backward, affine_forward, batchnorm_backward,
                     batchnorm_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, softmax_loss, svm_loss)
from .conv_layers import (conv_backward_naive, conv_forward_naive,
                          max_pool_backward_naive, max_pool_forward_naive,
                          spatial_batchnorm_backward, spatial_batchnorm_forward)
from .fast_layers import (conv_backward_fast, conv_forward_fast,
                          max_pool_backward_fast, max_pool_forward_fast)
from .fast_layers import (spatial_batchnorm_backward_fast, spatial_batchnorm_forward_fast,
                          spatial_batchnorm_relu_backward_fast,
                          spatial_batchnorm_relu_forward_fast)
from .layer_utils import (affine_bn_relu_backward, affine_bn_relu_forward,
                          affine_relu_backward, affine_relu_forward)
from .conv_layer_utils import (conv_bn_relu_backward, conv_bn_relu_forward,
                               conv_bn_relu_pool_backward, conv_bn_relu_pool_forward,
                               conv_relu_backward, conv_relu_forward,
                               conv_relu_pool_backward, conv_relu_pool_forward)
from .optim import adam, rmsprop, sgd, sgd_momentum
from .solver import Solver, predict
from .gradient_check import (eval_numerical_gradient, eval_numerical_gradient_array,
                             grad_check_sparse, rel_error)
from .cnn import ThreeLayerConvNet
from .convnet import ConvNet
from .data import (CLASSES, DataError, fetch_cifar10, find_cifar10, get_CIFAR10_data,
                   load_CIFAR10)
from .checkpoint import build_model, load_checkpoint, model_state, save_checkpoint
