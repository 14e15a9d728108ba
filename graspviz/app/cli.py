"""``graspviz serve``: the browser app from the command line."""

from __future__ import annotations


def register(subparsers):
    """Add the ``serve`` subcommand (``func`` takes the parsed args and returns an exit code)."""
    p = subparsers.add_parser("serve", help="serve the browser app (one state per browser tab)",
                              description="Serve the graspviz app with Panel. Binds 127.0.0.1 unless --address says otherwise.")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
                   help="extra origin allowed to open the app's websocket (repeatable; needed when browsing from "
                        "another machine, e.g. --allow-websocket-origin myhost:5006)")

    def _run(args):
        from . import serve
        extra = list(getattr(args, "allow_websocket_origin", None) or [])
        origins = [f"{args.address}:{args.port}", f"localhost:{args.port}", f"127.0.0.1:{args.port}", *extra]
        serve(port=args.port, address=args.address, show=args.show, websocket_origin=list(dict.fromkeys(origins)))
        return 0
    p.set_defaults(func=_run)
    return p
