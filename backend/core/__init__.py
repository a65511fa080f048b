"""Shared infrastructure: settings, database, time, security and authentication."""
