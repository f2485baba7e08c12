"""The release builder: the student package and notebooks derived from the assignment source."""
