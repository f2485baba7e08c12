"""Pipeline step 1, collect: find the students of a batch (see ``step.py``)."""
