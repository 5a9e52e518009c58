"""The environment filters run in, declared apart from the one that installs them.

Filters take their environment through `pass_environment` and need Jinja's own
environment (for `make_attrgetter`, `do_wordwrap`) and the output limit. Declaring
that type here lets `environment` import the filters while no filter module imports
`environment`.
"""

from __future__ import annotations

from jinja2.sandbox import ImmutableSandboxedEnvironment


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with a limit on what one step may build."""

    max_output: int
    """The most characters (or list items) a template may build in one step."""
