"""Infusion sessions and their phases: baseline, infusing, recovery, discharged or stopped early."""
