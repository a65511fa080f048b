"""Bedside monitors and gateways: who they are (EUI-64), which chair they are bound to, and what
they sent, routed to the session on that chair or kept until a nurse binds them."""
