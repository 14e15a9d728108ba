"""Render result figures to PNG with Plotly in headless chromium (Debian's /usr/bin/chromium, offline).

    python scripts/render_figure_png.py bench  OUT.png  docs/results/bench_wall.json [more.json ...]
    python scripts/render_figure_png.py scaling OUT.png docs/results/scaling_cpu.json

``bench`` draws :func:`graspviz.plotting.bench.fig_bench` of the rows of the JSON files (``graspviz bench
--json``); ``scaling`` draws :func:`graspviz.plotting.bench.fig_scaling` (``graspviz scaling --json``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the source tree's benchmarks/
from benchmarks.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from graspviz.plotting.bench import fig_bench, fig_scaling  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("bench", "scaling"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, out, files = argv[0], Path(argv[1]), argv[2:]
    rows = [r for f in files for r in json.loads(Path(f).read_text())]
    fig = fig_bench(rows) if kind == "bench" else fig_scaling(rows)
    fig.update_layout(width=1300, height=480 if kind == "bench" else 420)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        html = Path(tmp) / "figure.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True, config=dict(displayModeBar=False))
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=dict(width=1300, height=500), device_scale_factor=1.5)
        page.goto(html.as_uri())
        page.wait_for_selector(".main-svg")
        page.wait_for_timeout(300)
        page.locator(".plotly-graph-div").screenshot(path=str(out))
        browser.close()
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
