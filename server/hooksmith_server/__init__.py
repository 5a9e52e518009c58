"""Hooksmith: a webhook channel for a customer-messaging platform."""

__version__ = "0.1.0"
