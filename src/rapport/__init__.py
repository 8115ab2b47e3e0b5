"""Rapport: an open-source, self-hosted CRM."""

__version__ = "0.1.0"
