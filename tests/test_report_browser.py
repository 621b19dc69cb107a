"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol.

Chromium's ``--remote-debugging-pipe`` speaks the DevTools protocol on file descriptors 3 (in)
and 4 (out) as NUL-terminated JSON, so no websocket client or driver package is needed — only
the ``chromium`` binary (Debian package ``chromium``; ``.ci/run`` installs it). Checked: the page
loads without console errors (CSP violations and failed loads arrive as ``Log.entryAdded``
errors), every image decodes, each leaderboard has one row per loss, and a run named
``<script>alert(1)</script>`` shows as text with no script and no dialog, and a realistic ring board and
digits board each fit a 1400-pixel window (no horizontal scrolling). Full-page screenshots are saved to
``artifacts/report_browser*.png`` for a person to look at.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ganbench.report import write_report
from ganbench.results import load_results
from test_results import write_run

XSS = "<script>alert(1)</script>"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = os.environ.get("GANBENCH_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1280,2000"]
ERROR_EVENTS = ("Runtime.exceptionThrown", "Page.javascriptDialogOpening")


class Browser:
    """One headless Chromium, one page, commands and events over the DevTools pipe."""

    def __init__(self, user_data_dir: Path, timeout: float = 60.0):
        self.timeout, self.events, self._buf, self._id = timeout, [], b"", 0
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()
        # The browser's ends move to fds >= 10; a tiny Python trampoline then puts them on 3 and 4,
        # where --remote-debugging-pipe expects them (sh cannot: dash takes one-digit fds only).
        child = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (cmd_r, res_w)]
        for fd in (cmd_r, res_w):
            os.close(fd)
        trampoline = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); " \
                     "os.execv(sys.argv[3], sys.argv[3:])"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, *map(str, child), CHROMIUM, *FLAGS,
             f"--user-data-dir={user_data_dir}", "about:blank"],
            pass_fds=child, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in child:
            os.close(fd)
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=True)
        self.resize(1280)

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._res_r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("no answer from chromium over the DevTools pipe")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise EOFError(f"chromium closed the DevTools pipe (exit code {self.proc.poll()})")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._recv(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._recv(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._recv(deadline))
        except TimeoutError:
            pass

    def open(self, path: Path) -> None:
        self.call("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        self.wait_for("Page.loadEventFired")
        self.drain(0.5)  # late console messages

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True},
                      session=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"]["value"]

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions, dialogs, failed loads and CSP violations seen so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"log ({p['entry']['source']}): {p['entry']['text']}")
            elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p['args']]}")
            elif m in ERROR_EVENTS:
                out.append(f"{m}: {json.dumps(p)[:300]}")
        return out

    def resize(self, width: int, height: int = 2000) -> None:
        self.width = width
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def screenshot(self, path: Path, max_height: int = 12000) -> None:
        height = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]["height"]
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
            "x": 0, "y": 0, "width": self.width, "height": min(height, max_height), "scale": 1}}, session=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=15)
        except (OSError, EOFError, TimeoutError, RuntimeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._cmd_w)
            os.close(self._res_r)


PAGE_FACTS = """(async () => {
  const imgs = [...document.images];
  const widths = await Promise.all(imgs.map(i => i.decode().then(() => i.naturalWidth, () => 0)));
  return {
    images: imgs.map((i, k) => ({alt: i.alt, width: widths[k]})),
    sections: [...document.querySelectorAll("section[id]")].map(s => s.id),
    boards: [...document.querySelectorAll("section[id^=board-], section.search, section[id^=best-trials-]")].map(s => ({
      title: s.querySelector("h2").textContent,
      losses: [...s.querySelectorAll("table.leaderboard tbody tr")].map(r => r.cells[1].textContent),
      lines: [...s.querySelectorAll("table.leaderboard tbody tr")].map(r => {  // line boxes of the name
        const range = document.createRange(); range.selectNodeContents(r.cells[1]);
        return new Set([...range.getClientRects()].map(q => Math.round(q.top))).size; })})),
    scripts: document.scripts.length,
    text: document.body.innerText,
  };
})()"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    for seed in range(5):  # ring8: enough seeds for significant wins; digits: too few
        for loss, name, fid in (("ns", None, 1.0), ("hinge", None, 2.0), ("ns", XSS, 3.0)):
            write_run(root, loss, seed, name=name, fid=fid + seed / 10, eval_every=40)
    for seed in range(2):
        write_run(root, "lsgan", seed, dataset="digits", model="dcgan", fid=30.0 + seed, eval_every=40)
    write_run(root, "wgan", 0, dataset="digits", model="dcgan", fid=40.0)
    write_run(root, "hinge", 5, status="failed")
    rep = write_report(root / "toy", out=root / "report", formats=["html"])
    return rep.files["html"], load_results(root / "toy")


def test_report_in_chromium(browser, report):
    path, df = report
    browser.events.clear()
    browser.open(path)
    facts = browser.evaluate(PAGE_FACTS)
    browser.screenshot(ARTIFACTS / "report_browser.png")
    assert browser.errors() == []
    # per board: FID, eval and loss plots; per loss a sample grid in its row and full size below
    assert len(facts["images"]) == 2 * 3 + 2 * (2 + 3)
    assert [i["alt"] for i in facts["images"] if i["width"] <= 0] == []  # every image decodes
    expected = {f"{d} · {m} — one setting per loss": sorted(g["loss"].unique())
                for (d, m), g in df.groupby(["dataset", "model"])}
    got = {b["title"]: b["losses"] for b in facts["boards"]}
    assert {k: sorted(v) for k, v in got.items()} == expected  # one leaderboard row per loss
    assert all(len(v) == len(set(v)) for v in got.values())
    assert {b["title"]: set(b["lines"]) for b in facts["boards"]} == {t: {1} for t in got}  # names on one line
    assert XSS in got["ring8 · mlp — one setting per loss"] and XSS in facts["text"]  # shown as text...
    assert facts["scripts"] == 0  # ...and never parsed as a script


QUICK_LOSSES = ("minimax", "ns", "lsgan", "hinge", "feature-matching", "dragan", "rsgan", "ragan", "wgan", "wgan-gp")


def realistic_boards(root: Path) -> Path:
    """The quick suite's ring board as it comes out of a real run (10 losses x 8 seeds, every column, runs with no
    HQ sample, a diverged and a collapsed run, a failed one) and a digits board (IS, FID, KID, precision, recall,
    classes, KL) of the same size."""
    rng = np.random.default_rng(0)
    for i, loss in enumerate(QUICK_LOSSES):
        for seed in range(8):
            fid = 0.004 * (1 + i) * (1 + rng.random())
            ring = {"kid": fid / 9, "precision": 0.9 - 0.05 * i * rng.random(),
                    "recall": 0.95 - 0.03 * i * rng.random(),
                    "modes": 8 - i // 4, "n_modes": 8, "hq_fraction": 0.95 - 0.07 * i * rng.random(),
                    "reverse_kl": 0.004 * (1 + i) * (1 + rng.random())}
            if loss == "dragan" and seed < 3:  # no HQ sample: reverse KL undefined, counted as the worst
                ring.update(modes=0, hq_fraction=0.0, reverse_kl=None)
            status = "diverged" if loss == "wgan" and seed == 7 else "finished"
            write_run(root, loss, seed, dataset="ring8-wide", status=status, fid=None if status == "diverged" else fid,
                      extra=ring, provenance={"n_real": 2500, "n_fake": 2500}, eval_every=40,
                      diagnostics={"collapsed": loss == "minimax" and seed == 0})
            digits = {"is": 9.1 - 0.4 * i * rng.random(), "kid": 0.01 * (1 + i) * rng.random(),
                      "precision": 0.8 - 0.05 * i * rng.random(), "recall": 0.7 - 0.04 * i * rng.random(),
                      "modes": 10 - i // 5, "n_modes": 10, "hq_fraction": None,
                      "kl": 0.02 * (1 + i) * (1 + rng.random())}
            write_run(root, loss, seed, dataset="digits", model="dcgan", fid=3.0 * (1 + i) * (1 + rng.random()),
                      extra=digits, provenance={"features": "digits-cnn", "n_real": 5000, "n_fake": 5000})
    write_run(root, "wgan-gp", 8, dataset="ring8-wide", status="failed")
    return root / "toy"


FITS = """(() => {
  const width = document.documentElement.clientWidth;
  return {width, page: document.documentElement.scrollWidth,
    sections: [...document.querySelectorAll("section[id]")].map(s => s.id),
    boards: [...document.querySelectorAll("section[id^=board-], section.search, section[id^=best-trials-]")].map(s => ({
      title: s.querySelector("h2").textContent,
      right: Math.max(...[...s.querySelectorAll("table.leaderboard")].map(t => t.getBoundingClientRect().right)),
      scrolling: [...s.querySelectorAll(".scroll")].filter(d => d.scrollWidth > d.clientWidth).length}))};
})()"""


def test_each_board_fits_a_1400_pixel_window(browser, tmp_path):
    results = realistic_boards(tmp_path)
    path = write_report(results, out=tmp_path / "report", formats=["html"]).files["html"]
    browser.resize(1400)
    try:
        browser.events.clear()
        browser.open(path)
        facts = browser.evaluate(FITS)
        browser.screenshot(ARTIFACTS / "report_browser_1400.png", max_height=3000)
    finally:
        browser.resize(1280)
    assert browser.errors() == []
    assert [b["title"].split(" — ")[0] for b in facts["boards"]] == ["digits · dcgan", "ring8-wide · mlp"]
    for board in facts["boards"]:  # every column in view: no scroll bar, no cell past the window's edge
        assert board["scrolling"] == 0 and board["right"] <= facts["width"], board
    assert facts["page"] <= facts["width"]


def test_a_search_report_in_chromium(browser, tmp_path):
    from test_report_searches import write_search
    path = write_report(write_search(tmp_path), out=tmp_path / "report", formats=["html"]).files["html"]
    browser.resize(1400)
    try:
        browser.events.clear()
        browser.open(path)
        facts, fits = browser.evaluate(PAGE_FACTS), browser.evaluate(FITS)
        browser.screenshot(ARTIFACTS / "report_browser_search.png", max_height=6000)
    finally:
        browser.resize(1280)
    assert browser.errors() == [] and facts["scripts"] == 0
    assert [i["alt"] for i in facts["images"] if i["width"] <= 0] == []
    # what the tests found, then the equal-budget comparison, then each loss's best trial; no pooled board
    assert fits["sections"][:3] == ["findings", "search-ring8-mlp", "best-trials-ring8-mlp"]
    assert [b["title"] for b in fits["boards"]] == ["ring8 · mlp — equal budget: 8 trials × 2 seeds per loss",
                                                    "ring8 · mlp — best trial of each loss (chosen after the search)"]
    for board in fits["boards"]:
        assert board["scrolling"] == 0 and board["right"] <= fits["width"], board


def test_harness_sees_errors(browser, tmp_path):
    # The same CSP as the report: an inline script and a network image must both be reported.
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                    "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\"></head><body>"
                    f'{XSS}<img src="https://example.invalid/x.png" alt="net">'
                    '<img src="data:image/png;base64,AAAA" alt="broken"></body></html>')
    browser.events.clear()
    browser.open(page)
    facts = browser.evaluate(PAGE_FACTS)
    errors = "\n".join(browser.errors())
    assert "inline script" in errors and "example.invalid" in errors
    assert "Page.javascriptDialogOpening" not in errors  # the CSP stopped alert(1)
    assert sorted(i["alt"] for i in facts["images"] if i["width"] <= 0) == ["broken", "net"]
