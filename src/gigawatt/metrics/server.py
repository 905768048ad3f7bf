"""Serve a run's latest snapshot over HTTP (Prometheus text format) while the engine runs.

The server is the engine's observer: each recording interval it keeps the snapshot (one reference, no
copy) and, with a speed, sleeps until wall time catches up with simulated time / speed. Scrapes are served
from a background thread; the families and text are built once per snapshot, on the first scrape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.core import Metric

from gigawatt.metrics.mapping import Layout, families, layout_for, render
from gigawatt.scenario import Scenario
from gigawatt.telemetry import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricsServer:
    """An HTTP endpoint at http://addr:port/metrics, and the engine's observer (call it with snapshots)."""

    def __init__(
        self, port: int, addr: str = "127.0.0.1", speed: float | None = None, max_gpu_series: int = 1024
    ):
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be above 0 (got {speed:g})")
        self.speed, self.max_gpu_series = speed, max_gpu_series
        self.layout: Layout | None = None
        self._current: tuple[Snapshot, Layout] | None = None  # replaced whole: scrapes never see a mix
        self._body: tuple[object, bytes] = (None, b"")
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self.http = ThreadingHTTPServer((addr, port), _handler(self))
        self.http.daemon_threads = True
        self.port = self.http.server_address[1]
        self._thread = threading.Thread(target=self.http.serve_forever, name="gigawatt-metrics", daemon=True)
        self._thread.start()

    def begin(self, sc: Scenario, variant: str = "") -> None:
        """A run (or a variant of it) starts: its labels, and simulated time 0 is now."""
        self.layout = layout_for(sc, variant, self.max_gpu_series)
        self._current = None  # a variant may have another cluster: never the old rows under new labels
        self._start = time.monotonic()

    def __call__(self, snap: Snapshot) -> None:
        if self.layout is None:
            raise RuntimeError("MetricsServer.begin(scenario) must come before the run")
        self._current = (snap, self.layout)
        if self.speed is not None:
            wait = self._start + snap.time_s / self.speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)

    def collect(self) -> Iterator[Metric]:
        """prometheus-client's collector interface: register it in a CollectorRegistry to reuse it."""
        current = self._current
        if current is not None:
            yield from families(*current)

    def body(self) -> bytes:
        with self._lock:
            current = self._current
            if self._body[0] is not current:
                self._body = (current, render(families(*current) if current is not None else []))
            return self._body[1]

    def hold(self, seconds: float) -> None:
        """Keep serving the final values for a while, so that a scraper reads them."""
        if seconds > 0:
            time.sleep(seconds)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, ctype, code = server.body(), CONTENT_TYPE, 200
            elif path == "/":
                body, ctype, code = b'<a href="/metrics">/metrics</a>\n', "text/html", 200
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # no access log on the console
            pass

    return Handler
