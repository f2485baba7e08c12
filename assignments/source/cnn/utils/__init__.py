"""utils: data loading, training, gradient checking and feedback for the CNN homework."""
