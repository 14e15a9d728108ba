"""Benchmarks that need a source checkout (a real browser, the app served in-process); not installed."""
