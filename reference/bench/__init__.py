"""``cnnkit bench``: the fast layers timed against PyTorch's CPU kernels.

A tool beside the layers, not part of them: :mod:`.measure` runs the timings
and describes the machine, :mod:`.report` renders the results, :mod:`.command`
is the command line.
"""
