"""The simulator: physiology-driven infusion scenarios (see the simulator issue).

Its readings will reach Vigil through the same ingest path as any device's.
"""
