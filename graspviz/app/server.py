"""Serving the explorer safely: loopback by default, only its own Host names, no request that imports anything.

A loopback-only server is still reachable from any web page the user visits, through a host name that resolves
to 127.0.0.1 (DNS rebinding): the browser then sends that page's own name as ``Host`` and ``Origin``, and Tornado
skips the websocket origin check for requests it sees as same-origin. So every request (page, static files,
websocket) is checked against the Host names the server was started for: ``localhost``, ``127.0.0.1``,
``[::1]``, the ``--address`` and any explicit ``allow_hosts``; anything else gets 403 before a handler runs.
Requests whose path holds a NUL byte get 400 (Tornado's static handlers raise on it), and Panel's component
resource route, which imports the module named in the URL, only serves modules that are already loaded.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
import threading
import warnings

from ..core.errors import GraspvizError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Host names (as in a ``Host`` header, ports aside) a server always accepts. No IPv6 literals: Panel 1.9 cannot
#: parse a ``[::1]:5006`` Host header (its page handler fails with HTTP 500), so they are refused with 403 instead.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
#: largest websocket message the server accepts: an upload of the app's largest run file (base64 in JSON, 4/3 of
#: its size) fits twice, so files a little over the limit get the app's message instead of a dropped connection;
#: larger messages are refused by Tornado from their header, before they are read
WS_MAX_MESSAGE_BYTES = 2 * (4 * 50 * 2**20 // 3) + 2**20


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at ``address`` right now (a server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def is_loopback(address: str) -> bool:
    if address in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def allowed_hosts(address: str, extra=()) -> list[str]:
    """The Host names a server bound to ``address`` accepts (ports aside; lower case)."""
    return list(dict.fromkeys(h.strip().lower() for h in (*LOOPBACK_HOSTS, address, *extra)))


def check_server_args(port, address, origins, hosts) -> None:
    """One-line :class:`GraspvizError` for a port, address, origin or host name the server cannot use."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise GraspvizError(f"port must be an integer in 0..65535; got {port!r}")
    if not isinstance(address, str) or not address.strip() or any(c.isspace() for c in address):
        raise GraspvizError(f"address must be an IP address or a host name such as 127.0.0.1; got {address!r}")
    if ":" in address:
        raise GraspvizError(f"address must be an IPv4 address or a host name (Panel cannot serve pages to IPv6 "
                            f"literal hosts); got {address!r}")
    try:
        socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise GraspvizError(f"cannot bind {address!r}: not an IP address or a known host name of this machine "
                            f"(e.g. 127.0.0.1)") from None
    for o in origins:
        if not isinstance(o, str) or not o.strip() or "/" in o or any(c.isspace() for c in o):
            raise GraspvizError(f"a websocket origin must be HOST or HOST:PORT (no scheme, no path); got {o!r}")
    for h in hosts:
        if not isinstance(h, str) or not re.fullmatch(r"[A-Za-z0-9.\-]+", h):
            raise GraspvizError(f"an allowed host must be a host name or an IPv4 address (no port, scheme or "
                                f"path); got {h!r}")


def _refusal(status: int, why: str):
    from tornado.web import RequestHandler

    class Refuse(RequestHandler):
        def prepare(self):
            self.set_status(status)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(why + "\n")
    return Refuse


def _component_handler():
    """Panel's component resource handler, but for modules that are already loaded only (no import from a URL)."""
    from panel.io.server import ComponentResourceHandler
    from tornado.web import HTTPError

    class LoadedComponents(ComponentResourceHandler):
        def parse_url_path(self, path: str) -> str:
            if path.split("/")[0] not in sys.modules:
                raise HTTPError(404, "Module not found")
            return super().parse_url_path(path)
    return LoadedComponents


def guard(server, hosts) -> None:
    """Refuse requests for any other Host than ``hosts`` (403) and paths with a NUL byte (400) on a Bokeh
    ``server``, before any of its handlers runs. Tornado tries host rules in order and falls through when none
    of a rule's paths match, so both rules sit in front of the app's own routes."""
    app = server._tornado  # the Tornado application (Panel itself reaches it this way)
    known = "|".join(re.escape(h) for h in hosts)
    app.add_handlers(rf"(?!(?:{known})$).*", [(r".*", _refusal(403, "graspviz: this server does not serve this host"))])
    app.add_handlers(r".*", [(r".*(?:%00|\x00).*", _refusal(400, "graspviz: bad request path"))])


def _in_thread(build, start: bool, name: str):
    """``build()`` a server in a daemon thread with its own event loop (Tornado binds a server's sockets to the
    loop of the thread that makes it), start it there, and return it once it is guarded; errors are re-raised
    here. Stopping the server stops its thread's loop too."""
    import asyncio

    done, box = threading.Event(), {}

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            box["server"] = server = build()
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = e
            return
        finally:
            done.set()
        loop, stop_server = server.io_loop, server.stop

        def stop(wait: bool = True):
            stop_server(wait)
            loop.add_callback(loop.stop)
        server.stop = stop
        if start:
            server.start()
            loop.start()
    threading.Thread(target=run, daemon=True, name=name).start()
    done.wait()
    if "error" in box:
        raise box["error"]
    return box["server"]


def serve(port: int = 5006, address: str = "127.0.0.1", show: bool = False, allow_hosts=(), threaded: bool = False,
          start: bool = True, page=None, **kw):
    """Serve the explorer, one state per browser session (module docstring for what it refuses).

    Binds loopback unless ``address`` says otherwise (a non-loopback address gets a loud warning). Websocket
    connections are accepted only from the origins this server is reached at (``websocket_origin`` replaces
    them); ``allow_hosts``: more Host names to accept (e.g. this machine's name, when browsing from another
    one). Blocks until stopped, or with ``threaded=True`` runs in a daemon thread and returns the server
    (``start=False``: returns it guarded, not started).
    ``page``: the function that builds a session's page (default: a fresh explorer). Extra keywords go to
    Panel's ``get_server``. Bad arguments and a port that cannot be bound raise a one-line GraspvizError."""
    from panel.io.server import get_server

    from . import create_app
    origins = kw.pop("websocket_origin", None) or [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    origins = [origins] if isinstance(origins, str) else list(dict.fromkeys(origins))
    allow_hosts = [allow_hosts] if isinstance(allow_hosts, str) else list(allow_hosts)
    check_server_args(port, address, origins, allow_hosts)
    hosts = allowed_hosts(address, [*allow_hosts, *(o.rsplit(":", 1)[0] for o in origins)])
    if not is_loopback(address):
        msg = (f"graspviz app bound to {address}:{port}, reachable from other machines; it runs planners on "
               f"this machine for anyone who connects. Use --address 127.0.0.1 unless you mean it.")
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        print("WARNING: " + msg, flush=True)
    kw.setdefault("websocket_max_message_size", WS_MAX_MESSAGE_BYTES)
    # this route comes before Panel's own /components/ route, so it replaces it
    kw["extra_patterns"] = [(r"/components/(.*)", _component_handler(), {}), *kw.get("extra_patterns", [])]

    def build():
        try:
            server = get_server(page or (lambda: create_app()), port=port, address=address, show=show,
                                websocket_origin=origins, title="graspviz", start=False, **kw)
        except OSError as e:  # port in use, address not on this machine, no permission
            raise GraspvizError(f"cannot serve on {address}:{port}: {e.strerror or e}") from None
        guard(server, hosts)
        return server

    if threaded:
        return _in_thread(build, start, name=f"graspviz-server-{port}")
    server = build()
    if not start:
        return server
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    return server
