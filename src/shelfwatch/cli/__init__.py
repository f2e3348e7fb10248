"""The `shelfwatch` command line (see `main` for the list of commands)."""

from shelfwatch.cli.main import OWN_COMMANDS, build_parser, main

__all__ = ["OWN_COMMANDS", "build_parser", "main"]
