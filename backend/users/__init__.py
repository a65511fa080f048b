"""Users, roles, browser sign-in sessions and API tokens for machine clients."""
