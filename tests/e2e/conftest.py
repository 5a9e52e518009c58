from tests.integration.conftest import api, server, start_server

__all__ = ["api", "server", "start_server"]
