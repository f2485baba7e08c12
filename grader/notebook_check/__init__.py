"""Pipeline step 2, notebook check: deleted or edited test and locked cells (see ``step.py``)."""
