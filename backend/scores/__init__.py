"""Early-warning scores computed from a session's latest observations (NEWS2)."""
