"""Real HTTP servers on 127.0.0.1 for tests: a small one answering from a route table
(media for Open311's media_url), and the app itself under Werkzeug's WSGI server, so a
third-party client talks HTTP to it."""
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from werkzeug.serving import make_server


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict] = {}

    def do_GET(self):  # noqa: N802 - the standard library's name
        action = self.routes.get(self.path.split("?")[0])
        if action is None:
            self.send_error(404)
            return
        action(self)

    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (a refusal under test) is no news


@contextmanager
def serving(routes: dict):
    """Serve `routes` ({path: action(handler)}) on 127.0.0.1; yields the base URL."""
    handler = type("RouteHandler", (_Handler,), {"routes": routes})
    with _served_in_a_thread(_QuietServer(("127.0.0.1", 0), handler)) as url:
        yield url


def body(data: bytes, *, length: bool = True, status: int = 200,
         content_type: str = "text/plain"):
    """An action answering `data` (the declared type is never believed by the app)."""
    def action(request):
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        if length:
            request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
    return action


def redirect(location: str):
    def action(request):
        request.send_response(302)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()
    return action


@contextmanager
def live_app(app):
    """The app under a real WSGI server on 127.0.0.1, one request at a time (the test's
    database connection is shared with the server's thread); yields the base URL."""
    with _served_in_a_thread(make_server("127.0.0.1", 0, app, threaded=False)) as url:
        yield url


@contextmanager
def _served_in_a_thread(server):
    """Run `server` (bound to 127.0.0.1) in a thread until the block ends; yields its URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
