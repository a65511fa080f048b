"""The live stream: events recorded in the database (outbox), ordered on the event bus (bus),
and written to each WebSocket by its own task (router)."""
