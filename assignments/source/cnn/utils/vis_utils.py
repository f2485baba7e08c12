"""Pictures of what a network learned."""
import numpy as np


def filter_grid(W, padding=1):
    """Tile convolution filters into one RGB image, each filter scaled to [0, 1].

    Parameters
    ----------
    W : (F, C, HH, WW) filters with C == 3 (shown as colour) or C == 1.
    padding : pixels of white space between neighbouring filters.

    Returns
    -------
    grid : (rows * (HH + padding) - padding, cols * (WW + padding) - padding, C)
        array in [0, 1] with ``cols = ceil(sqrt(F))`` and ``rows = ceil(F / cols)``,
        ready for ``plt.imshow``.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 4 or W.shape[1] not in (1, 3):
        raise ValueError(f"W must have shape (F, 1 or 3, HH, WW), got {W.shape}")
    F, C, HH, WW = W.shape
    cols = int(np.ceil(np.sqrt(F)))
    rows = int(np.ceil(F / cols))
    grid = np.ones((rows * (HH + padding) - padding, cols * (WW + padding) - padding, C))
    for f in range(F):
        r, c = divmod(f, cols)
        image = W[f].transpose(1, 2, 0)
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        top, left = r * (HH + padding), c * (WW + padding)
        grid[top:top + HH, left:left + WW] = image
    return grid
