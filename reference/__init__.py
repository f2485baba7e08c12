"""cnnkit.reference: the complete, fast implementation of every layer the course uses."""
from .layers import (affine_backward, affine_forward, batchnorm_backward,
                     batchnorm_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, softmax_loss, svm_loss)
from .conv_layers import (conv_backward_naive, conv_forward_naive,
                          max_pool_backward_naive, max_pool_forward_naive,
                          spatial_batchnorm_backward, spatial_batchnorm_forward)
