"""A headless Chromium driven over the Chrome DevTools Protocol (websocket-client), for report checks in a
real browser: the installed browser is used as it is, nothing is downloaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Per chart: its traces, how many carry points (in _fullData, where plotly has decoded the base64 typed
# arrays the figure is written with), the SVG marks plotly drew (lines, bars, pie slices, heatmaps), and
# the figure's visible y axes with no data on them (an empty panel).
CHARTS_JS = """JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => ({
  id: el.id,
  traces: (el.data || []).length,
  with_points: (el._fullData || []).filter(t => (t.x || t.values || t.z || []).length > 0).length,
  paths: el.querySelectorAll('path.js-line, path.point, g.point path, g.slice path, g.hm image').length,
  drawn: el.querySelectorAll('.main-svg').length,
  empty_axes: Object.keys(el.layout || {})
    .filter(k => /^yaxis\\d*$/.test(k) && el.layout[k].visible !== false)
    .filter(k => !(el._fullData || []).some(t => t.yaxis === 'y' + k.slice(5) && t.visible === true
                                                 && (t.x || t.values || []).length > 0)),
})))"""


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def why_unavailable() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    if find_browser() is None:
        return "no Chromium installed (apt-get install chromium); the real-browser report checks skip"
    try:
        import websocket  # noqa: F401
    except ImportError:
        return "websocket-client is not installed (the test extra); the real-browser report checks skip"
    return None


def leaves_disk(url: str) -> bool:
    """A request that leaves the machine's disk: anything but file:// and data: (plotly draws heatmaps as
    inline images)."""
    return not url.startswith(("file://", "data:"))


@dataclass
class PageLoad:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)


class Chromium:
    """One headless Chromium with a throwaway profile; `load(path)` opens a page and reports on it."""

    def __init__(self) -> None:
        import websocket

        self._ws_module = websocket
        self._profile = tempfile.TemporaryDirectory(prefix="gigawatt-chromium-")
        binary = find_browser()
        assert binary is not None
        self._proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--remote-debugging-port=0",
             f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        self._port = int(port_file.read_text().split()[0])
        self._id = 0

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._profile.cleanup()

    def _call(self, ws: Any, method: str, events: list[dict], **params: Any) -> dict:
        self._id += 1
        ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            events.append(message)

    def load(self, path: Path, timeout_s: float = 60.0) -> PageLoad:
        request = urllib.request.Request(f"http://127.0.0.1:{self._port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=30) as response:
            target = json.loads(response.read())
        ws = self._ws_module.create_connection(
            target["webSocketDebuggerUrl"], timeout=timeout_s, suppress_origin=True
        )
        events: list[dict] = []
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self._call(ws, f"{domain}.enable", events)
            self._call(ws, "Page.navigate", events, url=path.resolve().as_uri())
            deadline = time.monotonic() + timeout_s
            while not any(e.get("method") == "Page.loadEventFired" for e in events):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} did not finish loading in {timeout_s:g} s")
                events.append(json.loads(ws.recv()))
            # Plotly draws on load; give its promises a moment, then read the charts.
            self._call(ws, "Runtime.evaluate", events, expression="new Promise(r => setTimeout(r, 500))",
                       awaitPromise=True)
            result = self._call(ws, "Runtime.evaluate", events, expression=CHARTS_JS, returnByValue=True)
            out = PageLoad(charts=json.loads(result["result"]["value"]))
            for e in events:
                method, params = e.get("method"), e.get("params", {})
                if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                    out.console_errors.append(" ".join(str(a.get("value", a.get("description")))
                                                       for a in params.get("args", [])))
                elif method == "Runtime.exceptionThrown":
                    details = params.get("exceptionDetails", {})
                    out.console_errors.append(details.get("exception", {}).get("description")
                                              or details.get("text", "exception"))
                elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                    out.console_errors.append(params["entry"].get("text", ""))
                elif method == "Network.requestWillBeSent":
                    out.requests.append(params["request"]["url"])
            return out
        finally:
            ws.close()
            close = urllib.request.Request(f"http://127.0.0.1:{self._port}/json/close/{target['id']}")
            with urllib.request.urlopen(close, timeout=30):
                pass
