"""A bounded HTTP/1.1 load generator for the webhook benchmarks.

Keep-alive connections each send one request at a time and wait for its whole answer (so a
figure counts answered, committed deliveries), over prepared request bytes: the generator
costs a few microseconds per request and leaves the cores to the server. Bounded by a
request count and a deadline. Run it in its own process:

    python -m benchmarks.loadgen HOST PORT REQUESTS_FILE CONNECTIONS SECONDS WARMUP

The first WARMUP requests are sent but not counted (cold caches, fresh connections).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from typing import Any


async def _connection(host: str, port: int, requests: list[bytes], cursor: list[int], latencies: list[float],
                      statuses: dict[int, int], deadline: float, warmup: int, marks: dict[str, float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while cursor[0] < len(requests) and time.perf_counter() < deadline:
            index = cursor[0]
            request = requests[index]
            cursor[0] += 1
            if index == warmup:
                marks["measured_from"] = time.perf_counter()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
            if index >= warmup:  # the first requests meet cold caches and fresh connections
                latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _run(host: str, port: int, requests: list[bytes], connections: int, seconds: float,
               warmup: int) -> dict[str, Any]:
    cursor = [0]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    marks = {"measured_from": started}
    await asyncio.gather(*(_connection(host, port, requests, cursor, latencies, statuses, started + seconds, warmup,
                                       marks) for _ in range(connections)))
    elapsed = time.perf_counter() - marks["measured_from"]
    latencies.sort()
    return {"answered": len(latencies), "seconds": elapsed, "statuses": statuses,
            "p50": latencies[len(latencies) // 2] if latencies else None,
            "p99": latencies[int(len(latencies) * 0.99)] if latencies else None}


def request_bytes(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def main() -> None:
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    connections, seconds, warmup = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    with open(path, "rb") as file:
        requests = pickle.load(file)
    try:
        from uvloop import run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        run = asyncio.run
    result = run(_run(host, port, requests, connections, seconds, warmup))
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
