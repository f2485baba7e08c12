"""nbgrader configuration of the cnnkit course folder.

Run nbgrader from this folder, e.g. ``nbgrader generate_assignment cnn``.
nbgrader processes the notebooks (and records them in gradebook.db for
autograding); the student package (``nndl/``, ``utils/``, ``pyproject.toml``)
is built by ``cnnkit assign``, because nbgrader copies ``.py`` files verbatim
and would leak their solution regions. See README.md.

cnnkit grades with its own sandboxed runner, not ``nbgrader autograde`` (which
runs student code unsandboxed). Should someone run autograde with this file,
the ignore list below also stops it from copying the instructor's ``nndl/``
over a submission's (which would grant full marks); the submission's own
package is not copied either, so its notebooks fail to import ``nndl``.
"""
c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "cnnkit"
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
    # built by `cnnkit assign`, never copied by nbgrader:
    "nndl", "utils", "pyproject.toml", "assignment.json", "visible_cases.py",
    "*.egg-info", "build", "*.so", "checkpoints",
]

# The stub of a notebook solution region; cnnkit.grader.release.notebooks.NOTEBOOK_STUB is the same.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\n"
              "raise NotImplementedError('Write your code in this cell, replacing these two "
              "lines (see the instructions above it)')",
}
