"""Grading on Gradescope: the zip an instructor uploads, and what runs in the container.

- :mod:`.bundle` - ``cnnkit gradescope``: builds the zip (scripts, settings, wheelhouse,
  secret, held-out data);
- :mod:`.wheelhouse` - cnnkit's wheel and the pinned wheels grading needs, for the
  image's Python;
- :mod:`.scripts` - ``setup.sh`` and ``run_autograder``;
- :mod:`.runner` - grades the container's one submission and always writes
  ``results.json``;
- :mod:`.upload` - turns what the student uploaded into one gradable folder;
- :mod:`.results` - ``results.json`` in Gradescope's format.
"""
