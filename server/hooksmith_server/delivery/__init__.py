"""Delivery: the SSRF-guarded, signed HTTP sender and what it needs (egress, signing, masking)."""
