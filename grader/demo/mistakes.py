"""Typical student mistakes, as small patches of the solution build.

Each :class:`Mistake` replaces exact text of the solution files (derived from
the assignment source by ``build_package(..., solutions=True)``, never
retyped) and names the one test group that should lose points. If the source
changes so that a patch no longer applies, :func:`apply` says which.
"""
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mistake:
    name: str
    group: str                   # the only group that should lose points
    path: str
    edits: tuple                 # ((old, new, count), ...); count=1 patches the first only
    what: str

    def __repr__(self):
        return f"Mistake({self.name!r}, group={self.group!r})"


MISTAKES = (
    Mistake("wrong_padding", "conv_forward_naive", "nndl/conv_layers.py",
            (("(pad, pad)), mode='constant')", "(pad, pad)), mode='edge')", 1),),
            "pads the forward input by repeating the edge instead of with zeros"),
    Mistake("stride_off_by_one", "conv_forward_naive", "nndl/conv_layers.py",
            (("H_out = 1 + (H + 2 * pad - HH) // stride",
              "H_out = (H + 2 * pad - HH) // stride", 1),),
            "output height one short: forgets the + 1 after dividing by the stride"),
    Mistake("missing_bias_gradient", "conv_backward_naive", "nndl/conv_layers.py",
            (("            db[f] += np.sum(dout[n, f])\n", "", 1),),
            "never accumulates db"),
    Mistake("pool_gradient_everywhere", "max_pool_backward_naive", "nndl/conv_layers.py",
            (("dx[n, c, top + r, left + s] += dout[n, c, i, j]",
              "dx[n, c, top:top + ph, left:left + pw] += dout[n, c, i, j]", 1),),
            "sends each window's gradient to every element instead of its maximum"),
    Mistake("batchnorm_wrong_axes", "spatial_batchnorm_forward", "nndl/conv_layers.py",
            (("rows = x.transpose(0, 2, 3, 1).reshape(N * H * W, C)",
              "rows = x.reshape(N * H * W, C)", 1),
             ("out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)",
              "out = out_rows.reshape(N, C, H, W)", 1),
             ("drows = dout.transpose(0, 2, 3, 1).reshape(N * H * W, C)",
              "drows = dout.reshape(N * H * W, C)", 1),
             ("dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)",
              "dx = dx_rows.reshape(N, C, H, W)", 1)),
            "reshapes (N, C, H, W) to rows without moving C last, so mean and variance "
            "mix channels (forward and backward consistently)"),
    Mistake("reg_missing_W2", "three_layer_convnet", "nndl/cnn.py",
            (("for k in ('W1', 'W2', 'W3'):", "for k in ('W1', 'W3'):", 2),),
            "leaves W2 out of the regularisation (loss and gradient)"),
)


def apply(folder, mistake):
    """Patch the solution build in ``folder`` with ``mistake`` (in place)."""
    path = Path(folder) / mistake.path
    text = path.read_text()
    for old, new, count in mistake.edits:
        found = text.count(old)
        if found < count:
            raise ValueError(f"mistake {mistake.name!r}: {mistake.path} holds {old!r} "
                             f"{found} times, expected at least {count}; update the patch "
                             "to the current source")
        text = text.replace(old, new, count)
    path.write_text(text)
