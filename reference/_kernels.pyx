# cython: boundscheck=False, wraparound=False
# Compiled kernels for the fast layers (im2col/col2im, pooling); being written.
