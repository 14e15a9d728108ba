"""Coalesced redraws for a Panel session: a burst of events costs one redraw, with the latest state."""

from __future__ import annotations

import time


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
    """Run ``fn`` on the session's event loop (``add_next_tick_callback`` is the Bokeh document call that is safe
    from another thread); at once when there is no server session."""
    if doc is not None and doc.session_context is not None:
        doc.add_next_tick_callback(fn)
    else:
        fn()
