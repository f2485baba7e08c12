"""Extract the lecture demo's image crop from the CIFAR-10 archive (run once).

The demo notebook uses the committed ``cifar_crop.npy`` so that it runs
offline anywhere; this script documents where that crop came from:

    python widgets/demo/make_crop.py /path/to/cifar-10-python.tar.xz

It reads test image INDEX of the official python layout (``test_batch``),
keeps ROWS x COLS, scales the pixels to [0, 1] and saves a (3, 8, 8) float64
array plus the full (32, 32, 3) uint8 image for context.
"""
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np

INDEX = 3             # test_batch image shown in the demo
ROWS = slice(9, 17)   # an 8x8 patch across a strong vertical edge
COLS = slice(8, 16)
HERE = Path(__file__).resolve().parent


def main(archive):
    with tarfile.open(archive, "r:*") as tar:
        member = tar.getmember("cifar-10-batches-py/test_batch")
        batch = pickle.load(tar.extractfile(member), encoding="bytes")
    image = batch[b"data"][INDEX].reshape(3, 32, 32)
    label = batch[b"labels"][INDEX]
    np.save(HERE / "cifar_image.npy", image.transpose(1, 2, 0))
    np.save(HERE / "cifar_crop.npy", image[:, ROWS, COLS] / 255.0)
    print(f"test image {INDEX} (label {label}), crop rows {ROWS.start}:{ROWS.stop}, "
          f"cols {COLS.start}:{COLS.stop}")


if __name__ == "__main__":
    main(sys.argv[1])
