"""The Spravato REMS Patient Monitoring Form of each esketamine session."""
