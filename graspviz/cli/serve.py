"""``graspviz serve``: the explorer (the Panel app) in the browser, on this machine only unless told otherwise."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("serve", help="the explorer in the browser (http://127.0.0.1:5006)",
                       description="Serve the graspviz explorer with Panel, one state per browser tab. Binds "
                                   "127.0.0.1 unless --address says otherwise.")
    p.add_argument("--port", type=int, default=5006, help="default 5006")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--world", metavar="NAME", help="the world a new page opens on: a registered name, or "
                                                    "module:attr naming a World of your own (graspviz.make_world; "
                                                    "imported and added to the world menu)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--ray-address", metavar="ADDR", default=None,
                   help="run the Sweep tab's cells on this Ray cluster (e.g. ray://head:10001 or auto), or 'local' "
                        "for one started on this machine (needs the ray package); default: in the server process")
    p.add_argument("--allow-host", action="append", default=None, metavar="HOST",
                   help="another Host name to serve, besides localhost, 127.0.0.1, [::1] and --address (repeatable; "
                        "needed when browsing from another machine by name, e.g. --allow-host myhost); requests for "
                        "any other host are refused (DNS rebinding)")
    p.add_argument("--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
                   help="extra origin allowed to open the app's websocket (repeatable; its host is served too)")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from ..app import serve
    page = None
    if args.world is not None or args.ray_address is not None:
        from ..app import create_app
        from ..app.state import AppState
        opts = {} if args.ray_address is None else dict(ray_address=_ray_address(args.ray_address))
        if args.world is not None:
            from ..worlds import get_world
            opts["world"] = get_world(args.world).name  # (module:attr is imported and registered here, before serving)

        def page():
            return create_app(AppState(**opts))
    extra = list(args.allow_websocket_origin or [])
    origins = [f"{args.address}:{args.port}", f"localhost:{args.port}", f"127.0.0.1:{args.port}", *extra]
    serve(port=args.port, address=args.address, show=args.show, websocket_origin=list(dict.fromkeys(origins)),
          allow_hosts=args.allow_host or (), page=page)
    return 0


def _ray_address(addr: str) -> str:
    """``addr`` once the ray package is known to be there (a one-line error before serving, not at the first sweep)."""
    import importlib.util

    from ..core.errors import GraspvizError
    if not addr.strip():
        raise GraspvizError("--ray-address needs a Ray cluster address, or 'local'")
    if importlib.util.find_spec("ray") is None:
        raise GraspvizError("--ray-address needs the ray package (pip install ray); leave it out to sweep in the server")
    return addr.strip()
