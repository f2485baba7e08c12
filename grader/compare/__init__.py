"""Pipeline step 4, compare: outputs against the reference, in the parent (see ``step.py``)."""
