"""The course template, installed as ``cnnkit.course``: data, not code.

``nbgrader_config.py`` and ``source/<assignment>/`` are what ``cnnkit course new`` copies
into an instructor's course, and where grading finds the instructor's notebooks when no
course is given (see :mod:`cnnkit.grader.course`).
"""
