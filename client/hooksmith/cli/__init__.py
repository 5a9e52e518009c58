"""`hooksmith`, the command line of Hooksmith: webhooks, previews, sends and history from a
terminal or a script. Installed with the client's `cli` extra (`pip install 'hooksmith[cli]'`);
`hooksmith --help` lists the commands and docs/cli.md describes each."""

from hooksmith.cli._main import main

__all__ = ["main"]
