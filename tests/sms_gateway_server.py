"""A real HTTP server on 127.0.0.1 standing in for an SMS operator's gateway in tests."""
import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedMessage:
    path: str
    headers: dict
    body: dict


@dataclass
class GatewayServer:
    url: str
    received: list[ReceivedMessage] = field(default_factory=list)
    status: int = 200
    delay_seconds: float = 0.0
    redirect_to: str | None = None
    released: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        gateway: GatewayServer = self.server.gateway
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        gateway.received.append(ReceivedMessage(self.path, dict(self.headers),
                                                json.loads(raw.decode("utf-8"))))
        if gateway.delay_seconds:
            # Answer late (a slow operator), unless the test is over.
            gateway.released.wait(gateway.delay_seconds)
        if gateway.redirect_to:
            self.send_response(307)
            self.send_header("Location", gateway.redirect_to)
        else:
            self.send_response(gateway.status)
        answer = b'{"ok": true}' if 200 <= gateway.status < 300 else b'{"error": "down"}'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        try:
            self.wfile.write(answer)
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def running_gateway(path: str = "/sms"):
    """A gateway on a free port; yields its GatewayServer (set `status` etc. to taste)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    server.gateway = GatewayServer(url=f"http://{host}:{port}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.gateway
    finally:
        server.gateway.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
