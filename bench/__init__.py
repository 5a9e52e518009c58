"""Benchmarks: each prints its rate beside a ceiling measured in the same run, and the ratio.

Run with `python -m bench` (all), `python -m bench --quick`, or `python -m bench NAME`.
Speed targets live here as ratios, not as timed tests: a ratio holds across machines,
an absolute number does not.
"""
