"""Loopback HTTP servers for the API emulators (sandboxes), and what they share.

An emulator subclasses `SandboxHandler` and is served by `LoopbackServer`, either in a thread
(tests: `with LoopbackServer(handler, state) as server: server.base`) or in the foreground
(`python -m kaspisync.sandbox ...`). Port 0 picks a free port.

- `Api`: a route table under one path prefix (`api.add("GET", "/orders/{id}/entries", view)`);
  a view takes a `Request` and returns a JSON-able payload (HTTP 200) or a `Response`, or raises
  `ApiError`, which the Api turns into its own error body. An emulator serves several Apis (the
  Kaspi sandbox: the orders API, its control endpoints, and whatever other modules mount).
- `FaultQueue`: the fault vocabulary every emulator understands (see `FaultQueue.inject`).
"""

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON = "application/json; charset=utf-8"


class ApiError(Exception):
    """A refusal with an HTTP status; the Api that served the request formats the body."""

    def __init__(self, status: int, title: str):
        super().__init__(title)
        self.status = status
        self.title = title


@dataclass
class Request:
    method: str
    path: str  # below the Api's prefix, e.g. "/orders/abc/entries"
    query: dict[str, list[str]]
    headers: Any  # the handler's `http.client.HTTPMessage`
    body: bytes
    base: str  # "http://host:port<prefix>", for links in answers
    params: dict[str, str] = field(default_factory=dict)  # the route's {placeholders}
    raw_query: str = ""  # the query string as sent (still percent-encoded)

    def arg(self, name: str, default=None):
        """The first value of a query parameter."""
        return self.query.get(name, [default])[0]

    def json(self, default=None):
        """The body as JSON; `default` (an empty dict unless given) when empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else ({} if default is None else default)
        except ValueError:
            return {} if default is None else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict = field(default_factory=dict)
    hang: float = 0.0  # answer nothing for this long, then drop the connection


def json_error(status: int, title: str) -> Response:
    return Response(status, json.dumps({"error": title}, ensure_ascii=False).encode())


@dataclass
class Api:
    """A route table under one path prefix.

    `guards` run before the route (in order; the first that returns a Response answers instead),
    `error` turns an ApiError into this API's error body, `content_type` is that of a payload a
    view returns. A `control` Api (the emulators' /_sandbox/ endpoints) is served without the
    emulated latency, the request log and the injected faults."""

    prefix: str
    content_type: str = JSON
    error: Callable[[int, str], Response] = json_error
    guards: list[Callable[[Request], Response | None]] = field(default_factory=list)
    control: bool = False
    routes: list[tuple[str, tuple[str, ...], Callable]] = field(default_factory=list)

    def __post_init__(self):
        self.prefix = self.prefix.rstrip("/")

    def add(self, method: str, pattern: str, view: Callable[[Request], Any]) -> None:
        """Route `method pattern` (e.g. "GET", "/orders/{id}/entries") to `view(request)`."""
        self.routes.append((method.upper(), tuple(s for s in pattern.split("/") if s), view))

    def owns(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def resolve(self, method: str, path: str) -> tuple[Callable, dict[str, str]] | None:
        """The view and placeholder values for a path below the prefix, or None."""
        segments = [s for s in path.split("/") if s]
        for route_method, pattern, view in self.routes:
            if route_method != method or len(pattern) != len(segments):
                continue
            params = {}
            for want, got in zip(pattern, segments):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return view, params
        return None

    def answer(self, request: Request) -> Response:
        """The guards' refusal, or the routed answer."""
        return self.guard(request) or self.route(request)

    def guard(self, request: Request) -> Response | None:
        for guard in self.guards:
            refused = guard(request)
            if refused is not None:
                return refused
        return None

    def route(self, request: Request) -> Response:
        """Call the view the route table names and encode what it returns."""
        found = self.resolve(request.method, request.path)
        if found is None:
            return self.error(404, "not found")
        view, request.params = found
        try:
            result = view(request)
        except ApiError as exc:
            return self.error(exc.status, exc.title)
        if isinstance(result, Response):
            return result
        return Response(200, json.dumps(result, ensure_ascii=False).encode(), self.content_type)


# --- faults ---------------------------------------------------------------------------------------
# What every emulator can inject (each documents what its answers look like):
FAULT_KINDS = (
    "<HTTP status>",  # "500", "502", "503", "504", "403", "429": that status with the API's error body
    "timeout",  # no answer for `delay` s (longer than the client's read timeout)
    "malformed",  # HTTP 200 whose body is not JSON
    "truncated",  # the whole body announced, half of it sent, the connection closed
    "drop",  # the connection closed without any answer
    "slow",  # not a failure: the right answer, `delay` s late
)


@dataclass
class Fault:
    kind: str
    times: int  # requests still to fail
    where: str  # which requests: "" for any (each emulator says how it matches)
    after: int  # matching requests still to let through first
    delay: float
    applied: bool  # the request takes effect and only its answer fails (emulators that change state)

    @property
    def status(self) -> int | None:
        return int(self.kind) if self.kind.isdigit() else None


class FaultQueue:
    """Faults queued for the next matching requests, taken in the order they were injected."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queued: list[Fault] = []
        self.random: tuple[float, tuple[str, ...], float, random.Random] | None = None
        self.random_taken = 0

    def inject(
        self, kind: str, times: int = 1, *, where: str = "", after: int = 0, delay: float = 2.0, applied: bool = False
    ) -> Fault:
        """Fail the next `times` requests that match `where`, after letting `after` of them through."""
        kind = str(kind)
        if not (kind.isdigit() or kind in FAULT_KINDS or kind == "interval"):
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(kind, int(times), where, int(after), float(delay), bool(applied))
        with self.lock:
            self.queued.append(fault)
        return fault

    def at_random(self, rate: float, kinds: tuple[str, ...], *, delay: float = 2.0, seed: int = 0) -> None:
        """Besides the queued faults, fail each request with probability `rate`, of a kind drawn
        from `kinds` (the mixed-fault suites); `rate` 0 stops it."""
        for kind in kinds:
            self.inject(kind, 0)  # validates the kind; a fault for no request is no fault
        with self.lock:
            self.random = (rate, tuple(kinds), delay, random.Random(seed)) if rate > 0 else None
            self.random_taken = 0

    def take(self, matches: Callable[[str], bool]) -> Fault | None:
        """The fault this request meets, if any; `matches(where)` says whether a fault's `where`
        covers the request. A fault still letting requests through counts one down."""
        with self.lock:
            for fault in self.queued:
                if fault.times > 0 and matches(fault.where):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    return fault
            if self.random is not None:
                rate, kinds, delay, rng = self.random
                if rng.random() < rate:
                    self.random_taken += 1
                    return Fault(rng.choice(kinds), 0, "", 0, delay, False)
            return None

    def clear(self) -> int:
        """Drop every queued fault (and stop random ones); return how many requests the queued
        ones would still have failed."""
        with self.lock:
            left = sum(f.times for f in self.queued)
            self.queued.clear()
            self.random = None
            return left

    def pending(self) -> int:
        with self.lock:
            return sum(f.times for f in self.queued)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small answers otherwise wait ~40 ms for a delayed ACK
    server_version = "kaspisync-sandbox"

    @property
    def state(self):
        return self.server.state

    def log_message(self, format, *args):  # quiet by default; emulators log their own way
        return

    def send_body(self, status: int, body: bytes, content_type: str = "application/json; charset=utf-8", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send(self, response: Response) -> None:
        if response.hang:
            time.sleep(response.hang)  # no answer at all, then the connection drops
            self.close_connection = True
            return
        self.send_body(response.status, response.body, response.content_type, response.headers)

    def send_truncated(self, response: Response) -> None:
        """Announce the whole body, send half of it and hang up (a connection lost mid-answer)."""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body[: len(response.body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def drop(self) -> None:
        """Close the connection without an answer (the client sees a connection error)."""
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackServer:
    def __init__(self, handler_class, state, host: str = "127.0.0.1", port: int = 0):
        self.httpd = _Server((host, port), handler_class)
        self.httpd.state = state
        self._thread = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}"

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        self.httpd.serve_forever()

    def run_until_interrupted(self):
        """Serve in the foreground (the sandboxes' command line) until Ctrl-C or SIGTERM."""
        try:
            self.httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.httpd.server_close()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
