"""Pipeline step 6, report: each student's grade.json, results.json, feedback.html, and the gradebook."""
