"""Vigil: live vital-signs monitoring and alerting for infusion clinics."""

__version__ = "0.1.0"
