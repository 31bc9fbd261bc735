"""Headless Chromium driven through the Chrome DevTools Protocol over a pipe (no port, no
websocket, no package): ``--remote-debugging-pipe`` makes the browser read commands from its
fd 3 and write replies and events to its fd 4, each message one JSON text ended by a NUL byte.

Protocol facts used here, from the protocol's own definitions (ChromeDevTools/
devtools-protocol, json/browser_protocol.json and json/js_protocol.json, 2025):
- Target.createTarget {url} -> {targetId}; Target.attachToTarget {targetId, flatten: true}
  -> {sessionId}; with ``flatten`` a page's commands carry that ``sessionId`` beside ``id``.
- Runtime.consoleAPICalled {type: "error"|...}, Runtime.exceptionThrown {exceptionDetails},
  Log.entryAdded {entry: {level: "error"|..., source, text}} (network failures and Content
  Security Policy refusals are reported there), Network.requestWillBeSent {request: {url}}.
- Page.navigate {url} and the event Page.loadEventFired; Runtime.evaluate {expression,
  returnByValue, awaitPromise}; Emulation.setDeviceMetricsOverride {width, height,
  deviceScaleFactor, mobile}; Page.captureScreenshot {format, captureBeyondViewport} -> {data}
  (base64 PNG).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Debian's /usr/bin/chromium is a shell launcher (extension and GPU flags, a /dev/shm check);
# the browser itself is beside its libraries
CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")


def find() -> str | None:
    for name in CANDIDATES:
        path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if path:
            return path
    return None


def find_or_install() -> tuple[str | None, str]:
    """(browser, why not). As root, a missing browser is installed by
    scripts/install-test-deps.sh (as CI does); elsewhere the reason to skip."""
    path = find()
    if path or os.geteuid() != 0:
        return path, "chromium is not installed and this is not root " \
                     "(bash scripts/install-test-deps.sh as root installs it)"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install-test-deps.sh")],
                          capture_output=True, text=True, timeout=1200)
    return find(), ("scripts/install-test-deps.sh ran as root and chromium is still missing: "
                    + (done.stdout + done.stderr).strip()[-500:])


class Browser:
    """One headless Chromium; ``page()`` attaches to a new tab. Use in ``with``."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def child_fds() -> None:  # the child's fd 3 reads our commands, fd 4 writes to us
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.stderr = profile / "chromium-stderr.txt"
        with open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                 "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--no-default-browser-check", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--hide-scrollbars", "--mute-audio",
                 f"--user-data-dir={profile / 'chromium-profile'}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, pass_fds=(3, 4),
                preexec_fn=child_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self._ids = iter(range(1, 1 << 30))
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._replies: dict[int, dict[str, Any]] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while chunk := os.read(self._from_child, 1 << 16):
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for m in messages:
                self._inbox.put(json.loads(m))
        self._inbox.put(None)

    def _pump(self, until: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"chromium: no {what} within {timeout:.0f} s")
            try:
                msg = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise RuntimeError(f"chromium exited ({self.stderr.read_text()[-2000:]})")
            if "id" in msg:
                self._replies[msg["id"]] = msg
            else:
                self.events.append(msg)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 60) -> dict[str, Any]:
        mid = next(self._ids)
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        self._pump(lambda: mid in self._replies, timeout, f"reply to {method}")
        reply = self._replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result") or {})

    def wait_event(self, method: str, session: str, timeout: float = 60) -> dict[str, Any]:
        def seen() -> bool:
            return any(e["method"] == method and e.get("sessionId") == session
                       for e in self.events)
        self._pump(seen, timeout, method)
        return next(e for e in self.events if e["method"] == method
                    and e.get("sessionId") == session)

    def page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, session["sessionId"])

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.write(self._to_child, json.dumps({"id": 0, "method": "Browser.close"}).encode()
                     + b"\0")
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            os.close(fd)


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def open(self, url: str, width: int, height: int, mobile: bool = False) -> None:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        self.browser.events.clear()
        self.send("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired", self.session)

    def js(self, expression: str) -> Any:
        out = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression[:80]}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events
                if e["method"] == method and e.get("sessionId") == self.session]

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries (failed loads, CSP
        refusals) since the page was opened."""
        out = [f"console.{e['type']}: {[a.get('value') for a in e.get('args', [])]}"
               for e in self.events("Runtime.consoleAPICalled")
               if e["type"] in ("error", "assert")]
        out += [f"exception: {e['exceptionDetails']}"
                for e in self.events("Runtime.exceptionThrown")]
        out += [f"log {e['entry'].get('source')}: {e['entry'].get('text')}"
                for e in self.events("Log.entryAdded") if e["entry"].get("level") == "error"]
        return out

    def screenshot(self, path: Path, full_page: bool = True) -> tuple[int, int]:
        """A PNG of the page (the whole page, or the viewport) at ``path``; its (width,
        height) in pixels, read from the file's IHDR chunk."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.js("[document.documentElement.scrollWidth, "
                           "document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        shot = self.send("Page.captureScreenshot", params)
        data = base64.b64decode(shot["data"])
        path.write_bytes(data)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
        width, height = struct.unpack(">II", data[16:24])
        return width, height
