#!/usr/bin/env python3
"""Load client for benchmarks/sse.sh (standard library only).

hold PORT COOKIE N           open N streams, print "connected N", keep them open (draining)
                             until standard input closes.
plain PORT N                 the baseline: N keep-alive connections that each made one
                             GET /health/live, held idle the same way.
latency PORT COOKIE CSRF N K open N streams, then K times: create a deal and time its
                             deal.created event on every stream; print p50/p99/max in ms.
"""
import asyncio
import json
import sys
import time


async def open_stream(port, cookie):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write((f"GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Accept: text/event-stream\r\nCookie: __Host-zakops_session={cookie}\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return reader, writer


async def open_plain(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b'"ok"}')
    return reader, writer


async def drain(reader):
    try:
        while await reader.read(65536):
            pass
    except (ConnectionError, asyncio.CancelledError):
        pass


async def open_many(port, cookie, n):
    streams = []
    for start in range(0, n, 500):
        streams += await asyncio.gather(*((open_stream(port, cookie) if cookie else open_plain(port)) for _ in range(min(500, n - start))))
    return streams


async def hold(port, cookie, n):
    streams = await open_many(port, cookie, n)
    tasks = [asyncio.create_task(drain(r)) for r, _ in streams]
    print(f"connected {len(streams)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for t in tasks:
        t.cancel()
    for _, w in streams:
        w.close()


async def post_deal(port, cookie, csrf, name):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"canonical_name": name}).encode()
    writer.write((f"POST /api/deals HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  f"Cookie: __Host-zakops_session={cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: {len(body)}\r\n"
                  f"Connection: close\r\n\r\n").encode() + body)
    await writer.drain()
    first = await reader.read(12)
    answered = time.perf_counter()
    response = first + await reader.read()
    writer.close()
    if not response.startswith(b"HTTP/1.1 201"):
        raise RuntimeError(response.split(b"\r\n")[0].decode())
    return answered


async def watch(reader, marker, arrivals, index):
    buffer = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        buffer += chunk
        while True:
            cut = buffer.find(marker)
            if cut < 0:
                break
            arrivals.setdefault(index, []).append(time.perf_counter())
            buffer = buffer[cut + len(marker):]
        buffer = buffer[-len(marker):]


async def latency(port, cookie, csrf, n, k, post_port=None):
    # Streams on `port`; changes made through `post_port` (another instance) when given.
    post_port = post_port or port
    streams = await open_many(port, cookie, n)
    arrivals = {}
    tasks = [asyncio.create_task(watch(r, b"event: deal.created", arrivals, i)) for i, (r, _) in enumerate(streams)]
    await asyncio.sleep(1)
    samples, requests = [], []
    for round_ in range(k):
        arrivals.clear()
        start = time.perf_counter()
        # The commit happens just before the server answers: latency counts from the answer
        # (an event may even arrive first: a negative sample).
        answered = await post_deal(post_port, cookie, csrf, f"Latency {round_}")
        requests.append(answered - start)
        deadline = start + 10
        while sum(1 for v in arrivals.values() if v) < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.001)
        got = [v[0] - answered for v in arrivals.values() if v]
        if len(got) < n:
            raise RuntimeError(f"round {round_}: only {len(got)} of {n} streams got the event")
        samples += got
        await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    samples.sort()
    ms = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1000
    requests.sort()
    print(f"subscribers {n} events {k} samples {len(samples)} p50_ms {ms(0.50):.1f} p99_ms {ms(0.99):.1f} max_ms {samples[-1] * 1000:.1f} "
          f"(the creating request itself: median {requests[len(requests) // 2] * 1000:.1f} ms)")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "hold":
        asyncio.run(hold(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
    elif mode == "plain":
        asyncio.run(hold(int(sys.argv[2]), None, int(sys.argv[3])))
    else:
        asyncio.run(latency(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                            int(sys.argv[7]) if len(sys.argv) > 7 else None))
