"""Logs, metrics and traces: what the server tells the people who run it.

Importing the package sets gRPC's C-core verbosity (unless the environment already
sets it): the core reads it once, when it loads, and at its default it writes lines
of its own format to stderr that say nothing an operator can act on. The command
line imports this package before anything that loads gRPC.

Nothing here reaches the database, the API or delivery: they call in (to count, to
time, to open spans), and the composition root hands in what the metrics read at
scrape time.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
