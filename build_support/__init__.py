"""Build steps that setup.py runs; never installed (the wheel holds only ``cnnkit``)."""
