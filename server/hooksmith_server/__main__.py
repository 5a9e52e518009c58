import sys

from hooksmith_server.cli import main

sys.exit(main())
