"""The session record: a printable report (HTML and PDF) and a CSV export of the readings."""
