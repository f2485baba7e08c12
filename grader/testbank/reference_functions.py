"""The reference function that answers each student function of the hidden cases."""
from cnnkit.reference import conv_layer_utils, conv_layers

#: the reference function with the same name as each student function
REFERENCE = {
    "conv_forward_naive": conv_layers.conv_forward_naive,
    "conv_backward_naive": conv_layers.conv_backward_naive,
    "max_pool_forward_naive": conv_layers.max_pool_forward_naive,
    "max_pool_backward_naive": conv_layers.max_pool_backward_naive,
    "spatial_batchnorm_forward": conv_layers.spatial_batchnorm_forward,
    "spatial_batchnorm_backward": conv_layers.spatial_batchnorm_backward,
    "conv_relu_pool_forward": conv_layer_utils.conv_relu_pool_forward,
    "conv_relu_pool_backward": conv_layer_utils.conv_relu_pool_backward,
}
