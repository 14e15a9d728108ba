#!/usr/bin/env python
"""Run two tutorial notebooks in a real JupyterLab (headless Chromium) and screenshot them.

    GRASPVIZ_FAST=1 .venv/bin/python scripts/screenshot_jupyterlab.py

What it does:

1. copies notebooks/*.ipynb into a temporary directory (the repository's notebooks never get
   outputs) and starts JupyterLab there: 127.0.0.1, a free port, a random token, no browser, its
   own settings / workspaces / config directories (news and update checks off, every cell kept in
   the DOM);
2. opens notebooks/00_quickstart.ipynb in Playwright (Debian Chromium, headless, --no-sandbox),
   runs Run > Run All Cells, waits until every code cell has run and the kernel is idle, checks
   that the notebook saved without error outputs, that the Plotly figures and the ipywidgets
   sliders rendered, and saves assets/screenshots/jupyterlab_quickstart.png (a plot in view);
3. does the same with notebooks/07_interactive_hyperparameters.ipynb and checks the ipywidgets
   panel (sliders + the plot in its Output) and the Panel app the kernel serves into the cell's
   iframe (Bokeh root with Plotly figures, no "Error displaying widget"), presses the app's Run
   button and waits for the plan (the app is live); saves jupyterlab_widgets.png and
   jupyterlab_panel.png;
4. throughout, every request from the page to a host other than JupyterLab's and the loopback
   explorer is aborted and counted as a failure (the notebook must work offline);
5. shuts the kernels and the server down and exits 1 with the list of what failed, if anything.

Screenshots are taken into the temporary directory and copied to assets/screenshots only when every
check of that notebook passed (a failing run leaves the committed PNGs alone). Takes ~1.5 min on
2 CPU cores (JupyterLab start ~5 s, each notebook ~25-35 s).

Options: ``--out DIR`` (default assets/screenshots), ``--run-timeout S`` (per notebook, default
420), ``--keep`` (keep the temporary directory: server log, executed notebooks, failure shots),
``--chromium PATH`` (default /usr/bin/chromium or $CHROMIUM), ``--reload`` (07: reload the page afterwards and check
that the app comes back live, showing the run made before the reload). GRASPVIZ_FAST defaults to 1.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the source tree's benchmarks/
from benchmarks.browser import CHROMIUM_ARGS as BROWSER_ARGS  # noqa: E402
from graspviz.app.server import free_port  # noqa: E402

VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM_ARGS = [*BROWSER_ARGS, "--disable-dev-shm-usage"]  # Jupyter's page is heavy: no /dev/shm cap


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failure(Exception):
    pass


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


class Lab:
    """A JupyterLab server in ``root`` (its own process group), driven over REST."""

    def __init__(self, root: Path, tmp: Path):
        self.root, self.tmp = root, tmp
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> None:
        settings, workspaces, config = self.tmp / "lab-settings", self.tmp / "lab-workspaces", self.tmp / "jupyter-config"
        # JupyterLab user settings: no news / update toasts; "none" windowing keeps every cell in the DOM.
        write_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                   {"fetchNews": "false", "checkForUpdates": False})
        write_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
                   {"windowingMode": "none"})
        workspaces.mkdir(parents=True, exist_ok=True)
        config.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
                   JUPYTER_CONFIG_DIR=str(config), PYTHONUNBUFFERED="1",
                   PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
               "--ServerApp.open_browser=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        log(f"starting JupyterLab on {self.base} (root {self.root})")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise Failure(f"JupyterLab exited with {self.proc.returncode} while starting:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                self.api("GET", "/lab/api/settings")  # the lab extension answers too
                log(f"JupyterLab up after {time.time() - t0:.1f} s")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(1)
        raise Failure(f"JupyterLab did not answer on {self.base} within {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, timeout: float = 15):
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def kernels(self) -> list[dict]:
        return self.api("GET", "/api/kernels")

    def shutdown_sessions(self) -> None:
        for s in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{s['id']}", timeout=60)
        for k in self.kernels():
            self.api("DELETE", f"/api/kernels/{k['id']}", timeout=60)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.shutdown_sessions()
            self.api("POST", "/api/shutdown", timeout=30)
        except Exception as e:  # noqa: BLE001 - fall through to signals
            log(f"REST shutdown failed ({e}); signalling the server")
        for sig, wait in ((None, 20), (signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            if sig is not None:
                try:
                    os.killpg(self.proc.pid, sig)  # the server's own process group (it and its kernels)
                except ProcessLookupError:
                    break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log(f"JupyterLab stopped (exit {self.proc.returncode})")


class NotebookRun:
    """One notebook opened in its own browser page and workspace."""

    def __init__(self, lab: Lab, context, rel: str, tmp: Path):
        self.lab, self.rel, self.tmp = lab, rel, tmp
        self.name = Path(rel).stem
        self.page = context.new_page()
        self.external: list[str] = []
        self.console_errors: list[str] = []
        self.http_errors: list[str] = []
        self.shots: list[Path] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text[:300]))
        self.page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {str(e)[:300]}"))
        self.page.on("response", lambda r: r.status >= 400 and self.http_errors.append(f"{r.status} {r.url}"))

    def pause(self, seconds: float) -> None:
        """Sleep while letting Playwright dispatch events (the route handler only runs when it does)."""
        self.page.wait_for_timeout(seconds * 1000)

    def open(self) -> None:
        url = f"{self.lab.base}/lab/workspaces/shot-{self.name}/tree/{self.rel}?token={self.lab.token}"
        log(f"{self.name}: opening {url.split('?')[0]}")
        self.page.goto(url, wait_until="domcontentloaded", timeout=180_000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=180_000)
        if self.page.locator("#jupyterlab-login, input[type=password]").count():
            raise Failure(f"{self.name}: JupyterLab shows a login page (token not accepted)")
        self.dismiss_dialogs()
        # Collapse the file browser so the notebook gets the width.
        tab = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if tab.count():
            tab.first.click()
        self.wait_kernel("idle", timeout=180)

    def dismiss_dialogs(self) -> None:
        dlg = self.page.locator(".jp-Dialog")
        if dlg.count():
            log(f"{self.name}: dialog: {dlg.first.inner_text()[:200]!r}; accepting")
            self.page.locator(".jp-Dialog .jp-mod-accept").first.click()

    def wait_kernel(self, state: str, timeout: float) -> None:
        t0 = time.time()
        while time.time() - t0 < timeout:
            ks = self.lab.kernels()
            if ks and all(k.get("execution_state") == state for k in ks):
                return
            self.dismiss_dialogs()
            self.pause(1)
        raise Failure(f"{self.name}: kernel not {state!r} after {timeout:.0f} s: {self.lab.kernels()}")

    def menu(self, menu: str, label: str) -> None:
        """Click ``menu`` in the main menu bar, then its item labelled ``label``."""
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).first.click()
        item = self.page.locator(".lm-Menu .lm-Menu-item",
                                 has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{label}$"))).first
        item.wait_for(state="visible", timeout=30_000)
        item.click()

    def prompts(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]

    def run_all(self, timeout: float) -> float:
        t0 = time.time()
        log(f"{self.name}: Run > Run All Cells")
        self.menu("Run", "Run All Cells")
        seen_busy, stable_since, last = False, None, None
        while True:
            elapsed = time.time() - t0
            if elapsed > timeout:
                raise Failure(f"{self.name}: Run All did not finish in {timeout:.0f} s; prompts {self.prompts()}")
            prompts = self.prompts()
            states = [k.get("execution_state") for k in self.lab.kernels()]
            running = any(p.startswith("[*]") for p in prompts)
            seen_busy |= running or "busy" in states
            done = seen_busy and not running and states and all(s == "idle" for s in states)
            snap = (tuple(prompts), tuple(states))
            if done and snap == last:
                if stable_since and time.time() - stable_since >= 3:
                    break
                stable_since = stable_since or time.time()
            else:
                stable_since = None
            last = snap
            self.pause(1)
        ran = sum(bool(re.match(r"^\[\d+\]:$", p)) for p in prompts)
        log(f"{self.name}: kernel idle after {elapsed:.0f} s; {ran}/{len(prompts)} code cells ran")
        if ran != len(prompts):
            raise Failure(f"{self.name}: only {ran}/{len(prompts)} code cells ran (prompts {prompts}); "
                          f"outputs:\n{self.error_text()}")
        return elapsed

    def error_text(self) -> str:
        """Tracebacks shown in the notebook (error outputs render as stderr)."""
        texts = self.page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
        return "\n---\n".join(t[-1500:] for t in texts if "Error" in t or "Traceback" in t)

    def save_and_check(self) -> dict:
        """Save (File > Save) into the temporary copy and check the file for error outputs."""
        path = self.lab.root / self.rel
        before = path.stat().st_mtime
        self.menu("File", "Save Notebook")
        t0 = time.time()
        while path.stat().st_mtime == before:
            if time.time() - t0 > 120:
                raise Failure(f"{self.name}: File > Save did not write {path}")
            self.pause(0.5)
        self.pause(1)
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            raise Failure(f"{self.name}: error outputs: " + "; ".join(f"{e['ename']}: {e['evalue']}" for e in errors))
        missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
        if missing:
            raise Failure(f"{self.name}: code cells {missing} have no execution count in the saved notebook")
        return nb

    def wait_plots(self, scope, n: int, what: str, timeout: float = 120) -> None:
        loc = scope.locator(".js-plotly-plot .main-svg")
        t0 = time.time()
        while loc.count() < n:
            if time.time() - t0 > timeout:
                raise Failure(f"{self.name}: {what}: {loc.count()} rendered Plotly figures, expected >= {n}")
            self.pause(1)

    def check_widgets(self) -> None:
        bad = self.page.get_by_text("Error displaying widget")
        if bad.count():
            raise Failure(f"{self.name}: 'Error displaying widget' shown ({bad.count()}x): {bad.first.inner_text()[:200]}")
        for text in ("Loading widget...", "Loading widget\u2026"):
            if self.page.get_by_text(text, exact=False).count():
                raise Failure(f"{self.name}: a widget is still '{text}'")

    def show(self, locator, block: str = "start") -> None:
        locator.first.evaluate(f"e => e.scrollIntoView({{block: '{block}'}})")
        self.pause(1.5)  # let Plotly / Bokeh finish layout after the scroll

    def shot(self, name: str) -> None:
        """Screenshot the full window into the temporary directory; published once every check passed."""
        path = self.tmp / name
        self.page.screenshot(path=str(path))  # the full window (viewport)
        self.shots.append(path)

    def publish(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for path in self.shots:
            shutil.copyfile(path, out / path.name)
            shown = out / path.name
            log(f"{self.name}: saved {shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown}")

    def check_network(self) -> None:
        if self.external:
            hint = ""
            if any("cdn.holoviz.org" in u and ".css" in u for u in self.external):
                hint = ("\n  hint: Panel re-sends CDN stylesheet links when a pane updates in place; "
                        "graspviz.app.inline_css.inline_panel_css() (called after pn.extension) inlines them")
            raise Failure(f"{self.name}: {len(self.external)} request(s) to external hosts (aborted; offline "
                          f"output must not need them): " + ", ".join(sorted(set(self.external))[:10]) + hint)


#: the source of notebook 07's cell that shows the explorer
APP_CELL = "explorer = window()"


def offline_route(base: str, external: list[str]):
    """A route handler: requests to ``base`` and to loopback servers (the explorer the kernel serves into notebook
    07) pass; any other http(s)/ws(s) request is recorded and aborted."""

    def route(r):
        url = r.request.url
        host = urllib.parse.urlsplit(url).hostname
        if url.startswith(base) or url.startswith(base.replace("http", "ws", 1)) or host in ("127.0.0.1", "localhost") \
                or not url.startswith(("http:", "https:", "ws:", "wss:")):
            return r.continue_()
        external.append(url)
        return r.abort()

    return route


def quickstart(run: NotebookRun, out: Path, timeout: float) -> None:
    run.open()
    run.run_all(timeout)
    run.save_and_check()
    nb = run.page.locator(".jp-NotebookPanel")
    # two static plan figures + the interact() figure
    run.wait_plots(nb, 3, "quickstart plots")
    sliders = nb.locator(".widget-slider")
    if sliders.count() < 2:
        raise Failure(f"quickstart: {sliders.count()} ipywidgets sliders rendered, expected 2 (interact)")
    # The cell that draws the final plan (iteration `last` with the true rollout): code + plot in view.
    cell = nb.locator(".jp-CodeCell", has=run.page.locator(".jp-InputArea", has_text="true_rollout=final.true"))
    run.show(cell)
    run.shot("jupyterlab_quickstart.png")
    run.check_widgets()
    run.check_network()
    run.publish(out)


def interactive(run: NotebookRun, out: Path, timeout: float, reload: bool = False) -> None:
    run.open()
    run.run_all(timeout)
    saved = run.save_and_check()
    nb = run.page.locator(".jp-NotebookPanel")
    # ipywidgets: the knob sliders and the plan figure drawn into the Output widget.
    wcell = nb.locator(".jp-CodeCell", has=run.page.locator(".jp-InputArea", has_text="W.interactive_output"))
    sliders = wcell.locator(".widget-slider")
    t0 = time.time()
    while sliders.count() < 5 and time.time() - t0 < 60:
        run.pause(1)
    if sliders.count() < 5:
        raise Failure(f"07: {sliders.count()} ipywidgets sliders in the knob panel, expected >= 5")
    run.wait_plots(wcell, 1, "ipywidgets Output plot")
    # Panel: the explorer served by the kernel (graspviz.app.window) in an iframe of the cell's output.
    pcell = nb.locator(".jp-CodeCell", has=run.page.locator(".jp-InputArea", has_text=APP_CELL))
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    pan = next(c for c in code if APP_CELL in "".join(c["source"]))
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in pan.get("outputs", []))
    if "<iframe" not in html:
        raise Failure(f"07: the explorer cell's saved output has no iframe (output types "
                      f"{sorted({m for o in pan.get('outputs', []) for m in o.get('data', {})})})")
    app_view, n_bk, box = wait_app(run, pcell, 120, "Panel output did not render")
    n_plots = app_view.locator(".js-plotly-plot .main-svg").count()
    log(f"07: Panel app iframe {box['height']:.0f}px high, {n_bk} Bokeh elements, {n_plots} Plotly svg layers")
    # The output is live (comms to the kernel): press the app's Run button and wait for the plan.
    n_ext = len(run.external)
    if n_ext:
        log(f"07: {n_ext} external request(s) before pressing the app's Run button")
    placeholder = app_view.get_by_text("no run yet")
    before = placeholder.count()
    run.show(pcell)
    app_view.get_by_role("button", name="Run", exact=True).first.click()
    t0 = time.time()
    while placeholder.count() >= before > 0:
        if time.time() - t0 > 180:
            raise Failure("07: pressed the Panel app's Run button; the plan view still says 'no run yet' "
                          "after 180 s (no connection between the app and the kernel's server?)")
        run.pause(1)
    run.wait_kernel("idle", timeout=180)
    run.pause(3)
    log(f"07: Panel Run button -> plan drawn in {time.time() - t0:.0f} s "
        f"('no run yet' placeholders {before} -> {placeholder.count()})")
    if len(run.external) > n_ext:
        log(f"07: {len(run.external) - n_ext} external request(s) after pressing the app's Run button")
    run.show(wcell)
    run.shot("jupyterlab_widgets.png")
    run.show(pcell)
    run.shot("jupyterlab_panel.png")
    run.check_widgets()
    if reload:
        reload_check(run)
    run.check_network()
    run.publish(out)


def wait_app(run: NotebookRun, pcell, timeout: float, why: str):
    """(the app's frame, Bokeh elements, iframe box) once the explorer's iframe in ``pcell`` has rendered."""
    t0 = time.time()
    app_view = pcell.frame_locator("iframe").first
    while True:
        n_bk = app_view.locator("[class*='bk-panel-models'], [class*='bk-Column'], .bk-root").count()
        box = pcell.locator("iframe").first.bounding_box() or {"height": 0}
        if n_bk and box["height"] > 300 and app_view.locator(".js-plotly-plot .main-svg").count():
            return app_view, n_bk, box
        if time.time() - t0 > timeout:
            raise Failure(f"07: {why} (bokeh elements {n_bk}, iframe height {box['height']:.0f}px) - blank usually "
                          f"means the browser cannot reach the kernel's server")
        run.pause(1)


def reload_check(run: NotebookRun, timeout: float = 120) -> None:
    """Reload the browser page (the kernel keeps running): the app must render again and stay live."""
    log("07: reloading the page (same kernel)")
    run.page.reload(wait_until="domcontentloaded", timeout=180_000)
    run.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=180_000)
    run.dismiss_dialogs()
    nb = run.page.locator(".jp-NotebookPanel")
    pcell = nb.locator(".jp-CodeCell", has=run.page.locator(".jp-InputArea", has_text=APP_CELL))
    t0 = time.time()
    app_view, n_bk, box = wait_app(run, pcell, timeout, "after a page reload the Panel app is blank")
    # Live, not a copy of the saved output (saved before the app's Run): it shows the run made before the reload,
    # and Back goes through the kernel again.
    label = app_view.get_by_text(re.compile(r"iteration \d+ of \d+"))
    while not label.count():
        if time.time() - t0 > timeout:
            raise Failure("07: after a page reload the Panel app does not show the run made before it "
                          "(no 'iteration N of M'): the output is not the live app")
        run.pause(1)
    log(f"07: after reload the live Panel app is back in {time.time() - t0:.0f} s ({n_bk} Bokeh elements, "
        f"{box['height']:.0f}px; shows {label.first.text_content()[:60]!r})")
    a, b = map(int, re.search(r"iteration (\d+) of (\d+)", label.first.text_content()).groups())
    run.show(pcell)
    app_view.get_by_role("button", name="Back", exact=True).first.click()  # a round trip through the kernel
    moved = app_view.get_by_text(f"iteration {a - 1} of {b}")
    t1 = time.time()
    while not moved.count():
        if time.time() - t1 > timeout:
            raise Failure(f"07: after a page reload the app's Back button did not move the view from iteration {a} "
                          f"(no connection between the reloaded page and the kernel?)")
        run.pause(1)
    log(f"07: after reload Back moved the view to iteration {a - 1} of {b} in {time.time() - t1:.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    ap.add_argument("--run-timeout", type=float, default=420, help="seconds for Run All per notebook")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--reload", action="store_true", help="07: then reload the page and check that the app comes "
                    "back live (the run made before the reload shown, Back answered by the kernel)")
    args = ap.parse_args()
    os.environ.setdefault("GRASPVIZ_FAST", "1")
    log(f"GRASPVIZ_FAST={os.environ['GRASPVIZ_FAST']}")
    if not Path(args.chromium).exists():
        print(f"FAIL: no Chromium at {args.chromium} (scripts/install_chromium.sh installs it)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    t_start = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="graspviz-lab-"))
    root = tmp / "work"
    (root / "notebooks").mkdir(parents=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, root / "notebooks" / nb.name)
    lab = Lab(root, tmp)
    failures: list[str] = []
    try:
        lab.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
            try:
                for rel, fn in (("notebooks/00_quickstart.ipynb", quickstart),
                                ("notebooks/07_interactive_hyperparameters.ipynb",
                                 functools.partial(interactive, reload=args.reload))):
                    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
                    run = NotebookRun(lab, context, rel, tmp)

                    context.route("**/*", offline_route(lab.base, run.external))
                    t0 = time.time()
                    try:
                        fn(run, args.out, args.run_timeout)
                        log(f"{run.name}: OK in {time.time() - t0:.0f} s")
                    except Exception as e:  # noqa: BLE001 - report every notebook
                        failures.append(f"{rel}: {e}")
                        shot = tmp / f"FAILED_{run.name}.png"
                        try:
                            run.page.screenshot(path=str(shot))
                            failures[-1] += f"\n  (screenshot of the failure: {shot})"
                        except Exception:  # noqa: BLE001
                            pass
                        if run.shots:
                            failures[-1] += (f"\n  (screenshots not published to {args.out}: "
                                             + ", ".join(str(p) for p in run.shots) + ")")
                        args.keep = True
                    finally:
                        if run.console_errors:
                            log(f"{run.name}: browser console errors ({len(run.console_errors)}): "
                                + " | ".join(run.console_errors[:8]))
                        if run.http_errors:
                            log(f"{run.name}: local HTTP errors: " + ", ".join(sorted(set(run.http_errors))[:8]))
                        try:
                            lab.shutdown_sessions()  # free the CPU for the next notebook
                        except Exception as e:  # noqa: BLE001
                            log(f"could not shut the kernels down: {e}")
                        context.close()
            finally:
                browser.close()
    except Exception as e:  # noqa: BLE001
        failures.append(str(e))
        args.keep = True
    finally:
        lab.stop()
        if args.keep:
            log(f"kept {tmp} (server log, executed notebooks, failure screenshots)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"total {time.time() - t_start:.0f} s")
    if failures:
        print("\nFAIL: JupyterLab screenshots\n- " + "\n- ".join(failures), file=sys.stderr)
        if lab.proc is not None:
            print(f"\nlast lines of the JupyterLab log:\n{lab.log_tail(25)}", file=sys.stderr)
        return 1
    print("OK: JupyterLab rendered both notebooks offline; screenshots in "
          f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
