"""The app's hop onto a session's event loop (:func:`graspviz.app.throttle.on_loop`).

Bokeh documents are not safe to touch from a worker thread while their loop holds them (queued callbacks are kept
in a plain list that the loop copies and clears), so ``on_loop`` must touch the document only on its loop thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest
from tornado.ioloop import IOLoop

from graspviz.app.throttle import on_loop


class _Doc:
    """The parts of a served Bokeh document that ``on_loop`` uses; records which thread asked for a callback."""

    def __init__(self, loop):
        self.loop, self.callers = loop, []
        self.session_context = SimpleNamespace(server_context=SimpleNamespace(
            application_context=SimpleNamespace(io_loop=loop)))

    def add_next_tick_callback(self, fn):
        self.callers.append(threading.get_ident())
        self.loop.add_callback(fn)


@pytest.fixture
def loop():
    """(IOLoop, its thread's id): a Tornado loop running in a thread of its own, as a threaded server's is."""
    ready, box = threading.Event(), {}

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        box["loop"], box["tid"] = IOLoop.current(), threading.get_ident()
        ready.set()
        box["loop"].start()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    yield box["loop"], box["tid"]
    box["loop"].add_callback(box["loop"].stop)
    t.join(10)


def _wait(cond, timeout=10.0):
    t0 = time.time()
    while not cond() and time.time() - t0 < timeout:
        time.sleep(0.01)
    return cond()


def test_a_worker_thread_reaches_the_document_only_through_its_loop(loop):
    io, tid = loop
    doc, ran = _Doc(io), []
    for _ in range(50):
        on_loop(doc, lambda: ran.append(threading.get_ident()))
    assert _wait(lambda: len(ran) == 50)
    assert set(doc.callers) == {tid} and set(ran) == {tid}  # never the caller's thread


def test_on_the_loop_itself_the_callback_is_requested_at_once(loop):
    io, tid = loop
    doc, ran = _Doc(io), []
    io.add_callback(lambda: on_loop(doc, lambda: ran.append(threading.get_ident())))
    assert _wait(lambda: ran == [tid]) and doc.callers == [tid]


def test_without_a_session_the_function_runs_at_once():
    ran = []
    on_loop(None, lambda: ran.append(1))
    on_loop(SimpleNamespace(session_context=None), lambda: ran.append(2))
    assert ran == [1, 2]
