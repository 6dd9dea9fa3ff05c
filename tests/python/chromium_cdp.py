"""A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
JSON messages separated by NUL bytes, Chromium reads fd 3 and writes fd 4) — no websocket
library, no outside network (loopback pages only, every background service off).

    with Chromium(tmp_path) as b:
        b.goto(url)
        b.text()                  # document.body.innerText
        b.js("document.querySelector('#user').value = 'x'")
        b.click("button[value=approve]")     # and waits for the next page
        b.screenshot(path)        # PNG
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--window-size=1100,900",
]
TIMEOUT = 120  # a hang guard, never a timing assertion
SCREENSHOTS = Path(__file__).resolve().parents[2] / "target" / "test-screenshots"


class Chromium:
    def __init__(self, workdir: Path):
        if not os.access(CHROMIUM, os.X_OK):
            pytest.fail(f"{CHROMIUM} is required (./scripts/test installs Debian's chromium)", pytrace=False)
        self.profile = workdir / "chromium-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self._next = 0
        self._buffer = b""

    def __enter__(self) -> "Chromium":
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium expects the pipe on fds 3 (its input) and 4 (its output).
        # (Copies first, so that neither end is overwritten if it already is fd 3 or 4; the
        # child's fds 3 and 4 are kept by pass_fds, which is applied after preexec_fn.)
        def fds():
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)

    # -- protocol

    def _read_message(self) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                pytest.fail("Chromium stopped answering", pytrace=False)
            # Never a blocking read: a page that does not load (an event that never comes)
            # fails here instead of hanging the suite.
            if not select.select([self._from_chrome], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                pytest.fail("Chromium closed its pipe", pytrace=False)
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = False, **params) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        self.events = getattr(self, "events", [])
        while True:
            m = self._read_message()
            if m.get("id") == self._next:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def _wait_event(self, name: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == name:
                    del self.events[: i + 1]
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"no {name} from Chromium", pytrace=False)
            self.events.append(self._read_message())

    # -- pages

    def goto(self, url: str) -> None:
        self.events = []
        self.call("Page.navigate", session=True, url=url)
        self._wait_event("Page.loadEventFired")

    def js(self, expression: str):
        r = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def text(self) -> str:
        return self.js("document.body.innerText")

    def url(self) -> str:
        return self.js("location.href")

    def click(self, selector: str) -> None:
        """Clicks the element (a submit button) and waits for the page it loads."""
        self.events = []
        self.js(f"document.querySelector({json.dumps(selector)}).click()")
        self._wait_event("Page.loadEventFired")

    def screenshot(self, name: str, selector: str | None = None, full_page: bool = False) -> Path:
        """A PNG of the viewport (or of the element `selector`, or of the whole page, beyond
        the viewport), kept under target/test-screenshots/ (its path is printed)."""
        params: dict = {"format": "png"}
        if selector is not None or full_page:
            box = self.js(
                "(() => { const e = " + (f"document.querySelector({json.dumps(selector)})" if selector
                                         else "document.documentElement") + ";"
                " if (!e) return null; const r = e.getBoundingClientRect();"
                " return {x: r.left + scrollX, y: r.top + scrollY,"
                " width: Math.max(r.width, e.scrollWidth), height: Math.max(r.height, e.scrollHeight)}; })()")
            assert box is not None, f"no element {selector} on the page"
            params.update(captureBeyondViewport=True, clip={**box, "scale": 1})
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        print(f"screenshot: {path}")
        return path


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG (and a check that it is one)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")

