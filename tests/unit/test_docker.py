"""What can be checked of docker/ without a Docker engine: the Dockerfile's files and
commands, the compose file's wiring, the build context, and the image's health check
(run against a real server)."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooksmith_server.config import Settings, parse_host_port
from tests.harness.network import free_port
from tests.harness.server import StartServer

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
HEALTHCHECK = ROOT / "docker" / "healthcheck.py"

# What a RUN step may call: pip comes with the python image, useradd with Debian's
# passwd package, mkdir and chown with coreutils, all in python:3.11-slim.
IMAGE_TOOLS = {"pip", "useradd", "mkdir", "chown"}


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_every_file_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    copies = [rest for keyword, rest in instructions() if keyword == "COPY"]
    assert copies, "the Dockerfile copies the project"
    ignored = dockerignore_patterns()
    for rest in copies:
        *sources, _destination = shlex.split(rest)
        for source in sources:
            assert not source.startswith("--"), f"unexpected COPY flag: {rest}"
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert not excluded(source.rstrip("/"), ignored), f"COPY {source} is in .dockerignore"


def test_every_run_command_is_a_tool_of_the_image() -> None:
    runs = [rest for keyword, rest in instructions() if keyword == "RUN"]
    assert runs
    for rest in runs:
        for command in re.split(r"&&|;|\|\|", rest):
            words = shlex.split(command)
            assert words, f"empty command in RUN {rest}"
            assert words[0] in IMAGE_TOOLS, f"RUN calls {words[0]!r}, not one of {IMAGE_TOOLS}"


def test_the_image_user_owns_the_data_directory_the_server_defaults_to() -> None:
    steps = instructions()
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    data_dir = re.search(r"HOOKSMITH_DATA_DIR=(\S+)", env)
    assert data_dir, "the image sets HOOKSMITH_DATA_DIR"
    run = " ".join(rest for keyword, rest in steps if keyword == "RUN")
    user = next(rest for keyword, rest in steps if keyword == "USER")
    assert "useradd" in run
    assert user in run.split()
    assert f"mkdir -p {data_dir.group(1)}" in run
    assert f"chown {user}:{user} {data_dir.group(1)}" in run
    # USER comes after the RUN that made the directory, so that RUN still runs as root.
    keywords = [keyword for keyword, _ in steps]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_the_image_serves_metrics_on_the_admin_port_it_exposes() -> None:
    steps = instructions()
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    admin = re.search(r"HOOKSMITH_ADMIN_LISTEN=(\S+)", env)
    assert admin, "the image turns the admin port (metrics) on"
    host, port = parse_host_port(admin.group(1))
    # Every address of the container, or nothing outside it could scrape the metrics.
    assert host == "0.0.0.0"
    exposed = {
        int(word.split("/")[0])
        for keyword, rest in steps
        if keyword == "EXPOSE"
        for word in rest.split()
    }
    assert port in exposed, f"the admin port {port} is not exposed: {sorted(exposed)}"
    listen = re.search(r"HOOKSMITH_LISTEN=(\S+)", env)
    assert listen
    assert parse_host_port(listen.group(1))[1] in exposed
    assert port != parse_host_port(listen.group(1))[1]
    # The value the image sets is one the server accepts.
    settings = Settings.from_env({"HOOKSMITH_ADMIN_LISTEN": admin.group(1)})
    assert settings.admin_listen == "0.0.0.0:8080"


def test_the_health_check_runs_the_copied_script_with_the_image_python() -> None:
    steps = instructions()
    health = next(rest for keyword, rest in steps if keyword == "HEALTHCHECK")
    command = re.search(r"CMD\s+(\[.*\])", health)
    assert command, health
    argv = yaml.safe_load(command.group(1))
    assert argv[0] == "python"
    copied = {shlex.split(rest)[-1]: shlex.split(rest)[0] for k, rest in steps if k == "COPY"}
    assert copied.get(argv[1]) == "docker/healthcheck.py"


def test_the_compose_services_reference_each_other() -> None:
    spec = compose()
    services: dict[str, Any] = spec["services"]
    assert {"postgres", "migrate", "hooksmith", "worker"} <= services.keys()
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
        for volume in service.get("volumes", []):
            named = volume.split(":", 1)[0]
            if not named.startswith((".", "/")):
                assert named in spec.get("volumes", {}), f"{name} uses undeclared volume {named}"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["hooksmith"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    for name in ("hooksmith", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "healthcheck" in services["postgres"]
    # A worker serves no gRPC: the image's health check would call it unhealthy.
    assert services["worker"]["healthcheck"] == {"disable": True}


def test_every_hooksmith_service_builds_the_image_and_reaches_the_compose_database() -> None:
    spec = compose()
    services = spec["services"]
    postgres = services["postgres"]["environment"]
    expected = (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    for name in ("migrate", "hooksmith", "worker"):
        service = services[name]
        assert service["environment"]["HOOKSMITH_DATABASE_URL"] == expected, name
        build = service["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_the_compose_file_documents_the_egress_allow_list() -> None:
    text = COMPOSE.read_text()
    assert "HOOKSMITH_EGRESS_ALLOW" in text
    assert "private networks" in text


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def excluded(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `path` out of the build context (its own match rules, simply)."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        matched = any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates)
        if pattern.startswith("**/"):
            matched = matched or any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        if matched:
            result = not negated
    return result


@pytest.mark.parametrize(
    "path",
    [".venv", ".venv/bin/python", ".hooksmith", ".hooksmith/api-key", ".git", "client/.hooksmith"],
)
def test_dockerignore_keeps_secrets_and_local_state_out(path: str) -> None:
    assert excluded(path, dockerignore_patterns()), path


@pytest.mark.parametrize("path", ["client/hooksmith/__init__.py", "server", "pyproject.toml"])
def test_dockerignore_keeps_what_the_image_needs(path: str) -> None:
    assert not excluded(path, dockerignore_patterns()), path


def run_healthcheck(listen: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        env=env | {"HOOKSMITH_LISTEN": listen},
        capture_output=True,
        text=True,
        timeout=30,
    )


async def test_the_health_check_passes_against_a_serving_server(start_server: StartServer) -> None:
    server = await start_server()
    # As in the image: the server listens on every address, the check dials loopback.
    result = await asyncio.to_thread(run_healthcheck, f"0.0.0.0:{server.app.port}")
    assert result.returncode == 0, result.stderr


async def test_the_health_check_fails_where_nothing_serves() -> None:
    result = await asyncio.to_thread(run_healthcheck, f"0.0.0.0:{free_port()}")
    assert result.returncode == 1
    assert "health check of hooksmith.v1.WebhookService failed: UNAVAILABLE" in result.stderr


async def test_the_health_check_names_a_malformed_listen_address() -> None:
    result = await asyncio.to_thread(run_healthcheck, "no-port")
    assert result.returncode == 1
    assert "HOOKSMITH_LISTEN='no-port' is not host:port" in result.stderr
