"""Pipeline step 5, score: points per test group (see ``step.py``)."""
