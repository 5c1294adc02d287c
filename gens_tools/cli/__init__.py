"""The ``gens-tools`` command line."""

from gens_tools.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
