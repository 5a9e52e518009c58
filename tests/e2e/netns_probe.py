"""Run inside a network namespace by test_ssrf_netns.py: send to every target twice.

First with the default egress guard (nothing allowed), then with a guard that allows
every network, against one dual-stack listener on all the namespace's addresses.
Prints, as JSON, per target: the blocked run's error and connections, and the
allowed run's connections.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import sys

from hooksmith_server import domain
from hooksmith_server.delivery import egress
from hooksmith_server.delivery.sender import HttpSender


async def main(targets: list[str]) -> None:
    seen: list[int] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(1)
        writer.close()

    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", 0))
    port = sock.getsockname()[1]
    server = await asyncio.start_server(accept, sock=sock)

    async def run(guard: egress.EgressGuard) -> dict[str, tuple[str | None, int]]:
        session = HttpSender.create_session(guard)
        sender = HttpSender(session, guard)
        found = {}
        try:
            for host in targets:
                before = len(seen)
                request = domain.HttpRequest("POST", f"http://{host}:{port}/hook", (), "{}")
                out = await sender.send(request, timeout=2.0)
                await asyncio.sleep(0.01)
                found[host] = (out.error, len(seen) - before)
        finally:
            await session.close()
        return found

    blocked = await run(egress.EgressGuard())
    everything = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    allowed = await run(egress.EgressGuard(everything))
    server.close()
    await server.wait_closed()
    print(
        json.dumps(
            {
                host: {
                    "error": blocked[host][0],
                    "blocked_connections": blocked[host][1],
                    "allowed_connections": allowed[host][1],
                }
                for host in targets
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
