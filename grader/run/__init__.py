"""Pipeline step 3, run: the student's code on every hidden case, in sandboxes (see ``step.py``)."""
