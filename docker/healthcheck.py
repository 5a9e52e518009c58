"""The image's HEALTHCHECK: asks the server's gRPC health service whether it is serving.

Exits 0 when `hooksmith.v1.WebhookService` answers SERVING, 1 otherwise (with the reason
on stderr). It reaches the server where HOOKSMITH_LISTEN says it listens (a wildcard
address is reached on loopback). Only a process that serves gRPC has a health service:
a `worker` container has nothing to check (compose turns the check off for it).
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICE = "hooksmith.v1.WebhookService"
DEFAULT_LISTEN = "127.0.0.1:50051"


def target(listen: str) -> str:
    """The address to dial for a server listening on `listen` (host:port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"HOOKSMITH_LISTEN={listen!r} is not host:port")
    if host in ("", "0.0.0.0", "*"):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"{host}:{port}"


def check(listen: str, timeout: float = 3.0) -> str | None:
    """None when the service is serving, else why not."""
    with grpc.insecure_channel(target(listen)) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=timeout
            )
        except grpc.RpcError as e:
            return f"health check of {SERVICE} failed: {e.code().name}: {e.details()}"
    if answer.status != health_pb2.HealthCheckResponse.SERVING:
        return f"{SERVICE} is {health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)}"
    return None


def main() -> int:
    try:
        problem = check(os.environ.get("HOOKSMITH_LISTEN", DEFAULT_LISTEN))
    except ValueError as e:
        problem = str(e)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
