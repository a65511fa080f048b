"""Simulated sessions run inside the server: the simulator's readings go through the same
validation, storage, alerting and streaming as any device's (see simulators/ for the physiology)."""
