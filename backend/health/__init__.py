"""Liveness and database state for monitoring."""
