"""Headless Debian Chromium driven over the DevTools protocol, for the status page and HTML report tests.

Only what the tests need: open a page, record every request it makes and every console error, CSP report
or uncaught exception, evaluate script, take a full-page screenshot. No Selenium, no webdriver binary.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket

from tests.conftest import ROOT, need_binary, wait_until

SCREENSHOTS = ROOT / "docs" / "img"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1")


def save_screenshot(png: bytes, name: str, tmp: Path) -> Path:
    """Write into ``tmp``; also into docs/img when OTEL_MON_UPDATE_SCREENSHOTS=1 (``make screenshots``)."""
    out = tmp / name
    out.write_bytes(png)
    if os.environ.get("OTEL_MON_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, SCREENSHOTS / name)
    return out


class Page:
    """One tab; ``events`` holds every protocol event received so far."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self._id = 0
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self._id += 1
        wanted = self._id
        self.ws.send(json.dumps({"id": wanted, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._recv(deadline - time.monotonic())
            if msg is not None and msg.get("id") == wanted:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
        raise TimeoutError(f"{method}: no answer in {timeout}s")

    def _recv(self, timeout: float) -> dict[str, Any] | None:
        self.ws.settimeout(max(timeout, 0.01))
        try:
            msg: dict[str, Any] = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in msg:
            self.events.append(msg)
        return msg

    def pump(self, seconds: float = 0.05) -> None:
        """Read the events that arrived in the meantime."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._recv(deadline - time.monotonic())

    def navigate(self, url: str, timeout: float = 30.0) -> None:
        before = len(self.events)
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events[before:]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load in {timeout}s")
            self._recv(deadline - time.monotonic())

    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Poll a script expression until it is truthy (pumping events meanwhile)."""
        def check() -> Any:
            self.pump(0.05)
            return self.evaluate(expression)

        return wait_until(check, timeout, interval=0.1, what=expression)

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and browser log errors (CSP, failed loads)."""
        out = []
        for e in self.events:
            p = e["params"]
            if e["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails']}")
            elif e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p['args']]}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out

    def screenshot(self, width: int, height: int | None = None, mobile: bool = False, scale: float = 1.0) -> bytes:
        """A PNG of the whole page at ``width`` CSS pixels (or the first ``height`` pixels)."""
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height or 800, "deviceScaleFactor": scale, "mobile": mobile})
        self.pump(0.3)  # let the layout settle at the new width
        if height is None:
            metrics = self.send("Page.getLayoutMetrics")
            height = int(metrics["cssContentSize"]["height"]) + 1
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile})
            self.pump(0.3)
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        self.ws.close()


class Chromium:
    """A headless Chromium with a throwaway profile; ``page()`` opens a tab."""

    def __init__(self) -> None:
        binary = need_binary("chromium")
        self.profile = Path(tempfile.mkdtemp(prefix="otel-mon-chromium-"))
        self.stderr = open(self.profile / "stderr.log", "wb")  # closed in close()
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        port_file = self.profile / "DevToolsActivePort"

        def started() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"chromium exited with {self.proc.returncode}: {self._log()}")
            return port_file.exists() and len(port_file.read_text().splitlines()) >= 2

        wait_until(started, 60.0, what="chromium DevToolsActivePort")
        self.port = int(port_file.read_text().splitlines()[0])
        self.pages: list[Page] = []

    def _log(self) -> str:
        self.stderr.flush()
        return (self.profile / "stderr.log").read_text(errors="replace")[-2000:]

    def page(self) -> Page:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            target = json.loads(resp.read())
        page = Page(target["webSocketDebuggerUrl"])
        self.pages.append(page)
        return page

    def close(self) -> None:
        for page in self.pages:
            try:
                page.close()
            except Exception:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def only_from(urls: list[str], allowed: Callable[[str], bool]) -> list[str]:
    """The URLs ``allowed`` refuses."""
    return [u for u in urls if not allowed(u)]
