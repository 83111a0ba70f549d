"""Loopback HTTP servers for the API emulators (sandboxes).

An emulator subclasses `SandboxHandler` and is served by `LoopbackServer`, either in a thread
(tests: `with LoopbackServer(handler, state) as server: server.base`) or in the foreground
(`python -m kaspisync.sandbox ...`). Port 0 picks a free port.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
