"""A patient's course: every real session of one patient, its figures side by side."""
