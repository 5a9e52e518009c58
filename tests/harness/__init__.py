"""The test harness: real servers, HTTP receivers, TCP listeners and the helpers that use them.

Conftest files declare fixtures that call into this package; tests import from it directly.
"""
