"""Coalesced redraws for a Panel session: a burst of events costs one redraw, with the latest state."""

from __future__ import annotations

import contextlib
import time

from tornado.ioloop import IOLoop


class Throttle:
    """Call ``fn`` on the session's event loop at most once every ``every`` seconds.

    Calls that arrive while one is pending are merged into it, and ``fn`` reads the state when it runs, so
    it always draws the latest. Without a server session (a notebook, a test) ``fn`` runs at once. Call it
    on the session's event loop (from a worker thread, go through :func:`on_loop` first).
    """

    def __init__(self, fn, doc, every: float):
        self.fn, self.doc, self.every = fn, doc, every
        self.pending, self.last = False, float("-inf")

    @property
    def served(self) -> bool:
        return self.doc is not None and self.doc.session_context is not None

    def __call__(self):
        if not self.served:
            self._fire()
        elif not self.pending:
            self.pending = True
            wait = max(0.0, self.last + self.every - time.perf_counter())
            self.doc.add_timeout_callback(self._fire, max(1, int(1e3 * wait)))

    def _fire(self):
        self.pending, self.last = False, time.perf_counter()
        self.fn()


def on_loop(doc, fn) -> None:
    """Run ``fn`` on the session's event loop; at once when there is no server session.

    From another thread (a job, a test) the call first hops onto the loop with Tornado's thread-safe
    ``IOLoop.add_callback`` and only there asks the document for a next-tick callback. Bokeh's
    ``add_next_tick_callback`` is documented as thread-safe, but while the loop holds the document (Panel does
    during every batch of events) the request is queued in a plain list that ``unhold`` copies and then clears:
    a request appended between the two is lost, and with it a redraw or the end of a run (seen under load as a
    box or a label that never followed the state)."""
    if doc is None or doc.session_context is None:
        fn()
        return
    ctx = doc.session_context.server_context.application_context
    loop = ctx.io_loop if ctx is not None else None
    if loop is None or IOLoop.current(instance=False) is loop:
        doc.add_next_tick_callback(fn)
        return

    def schedule():
        with contextlib.suppress(RuntimeError):  # the session ended meanwhile ("already-destroyed Document")
            doc.add_next_tick_callback(fn)
    loop.add_callback(schedule)
