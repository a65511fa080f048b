"""Alerts: limits in layers (limits), what a value breaches (conditions), and the alarm
lifecycle nurses act on (lifecycle). Pure modules: no web framework, no database."""
