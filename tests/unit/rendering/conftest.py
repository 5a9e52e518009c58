import pytest

from hooksmith_server.rendering import Renderer


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()
