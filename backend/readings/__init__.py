"""Readings: validated (vitals, schemas), stored and published (service), served (router)."""
