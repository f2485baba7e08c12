"""Grading a batch on a Dask cluster: a thin front end over the same per-student work.

:mod:`.client` runs in the instructor's process (connect, check the workers, send
the students, write every record); :mod:`.worker` is what the workers run
(:func:`cnnkit.grader.pipeline.evaluate` on one student); :mod:`.transport`
moves a student's folder as bytes. Needs ``distributed`` (``cnnkit[cluster]``).
"""
