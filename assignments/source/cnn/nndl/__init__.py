"""nndl: the layers and models you write for the CNN homework."""
