"""Patients: a clinic identifier and a display name, nothing more than the job needs."""
