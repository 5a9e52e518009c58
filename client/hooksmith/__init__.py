"""Hooksmith client: generated gRPC stubs for `hooksmith.v1` (see `hooksmith.v1`)."""
