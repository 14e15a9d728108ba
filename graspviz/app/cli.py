"""``graspviz serve``: the browser app from the command line."""

from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser("serve", help="serve the browser app (one state per browser tab)",
                              description="Serve the graspviz app with Panel. Binds 127.0.0.1 unless --address says otherwise.")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--show", action="store_true", help="open a browser tab")

    def _run(args):
        from . import serve
        serve(port=args.port, address=args.address, show=args.show)
        return 0
    p.set_defaults(func=_run)
    return p
