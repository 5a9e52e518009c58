"""`python -m hooksmith.cli`, the same as the `hooksmith` command."""

from hooksmith.cli._main import main

raise SystemExit(main())
