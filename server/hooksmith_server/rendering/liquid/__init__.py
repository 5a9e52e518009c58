"""Liquid, as marketers write it, as a template language for the pipeline.

Rendered by python-liquid with its own limits on loop iterations, output size and
context depth. Only `LiquidLanguage` is meant for use outside this package.
"""

from hooksmith_server.rendering.liquid.language import LiquidLanguage

__all__ = ["LiquidLanguage"]
