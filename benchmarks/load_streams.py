#!/usr/bin/env python3
"""The event streams of benchmarks/load.sh (standard library only): opens N streams through
nginx (https, trusting CA), prints "connected N", then reads them all, counting each stream's
bytes, its deal.created events and whether the server ended it, until standard input closes;
then prints one JSON line of totals.

    load_streams.py HOST PORT CA COOKIE N
"""
import asyncio
import json
import ssl
import sys
import time

MARKER = b"event: deal.created"


class Stream:
    def __init__(self):
        self.events = 0
        self.bytes = 0
        self.ended = None  # why the server side ended it, if it did
        self.fallback = False


async def open_stream(host, port, context, cookie):
    reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host, limit=1 << 20)
    writer.write((f"GET /api/events/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                  f"Cookie: __Host-zakops_session={cookie}\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return reader, writer


async def drain(reader, stream):
    tail = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                stream.ended = "closed"
                return
            stream.bytes += len(chunk)
            data = tail + chunk
            stream.events += data.count(MARKER)
            if b"event: fallback" in data:
                stream.fallback = True
            tail = data[-(len(MARKER) - 1):]
    except asyncio.CancelledError:
        pass
    except (ConnectionError, ssl.SSLError, OSError) as error:
        stream.ended = type(error).__name__


async def main(host, port, ca, cookie, n):
    context = ssl.create_default_context(cafile=ca)
    connections = []
    for start in range(0, n, 50):
        connections += await asyncio.gather(*(open_stream(host, port, context, cookie) for _ in range(min(50, n - start))))
    streams = [Stream() for _ in connections]
    tasks = [asyncio.create_task(drain(r, s)) for (r, _), s in zip(connections, streams)]
    print(f"connected {len(connections)}", flush=True)
    opened = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    held = time.monotonic() - opened
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _, w in connections:
        w.close()
    events = [s.events for s in streams]
    print(json.dumps({
        "streams": len(streams), "held_seconds": round(held, 1),
        "ended_by_server": sum(1 for s in streams if s.ended), "fallbacks": sum(1 for s in streams if s.fallback),
        "events_total": sum(events), "events_min": min(events), "events_max": max(events),
        "megabytes": round(sum(s.bytes for s in streams) / 1e6, 1),
    }), flush=True)


if __name__ == "__main__":
    host, port, ca, cookie, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    asyncio.run(main(host, port, ca, cookie, n))
