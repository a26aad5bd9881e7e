"""Every dashboard page in a real browser: the Streamlit server on localhost, Debian's headless
Chromium driven by Playwright (nothing downloads a browser; scripts/test.sh installs chromium).
No page shows an error, and each page's screenshot is saved (to CUSTSEG_SCREENSHOT_DIR when set:
that is how docs/screenshots/ is made)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import REPO
from custseg import dashboard

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ERROR_MARKERS = ("Traceback", "Error:", "Exception", "No published warehouse")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_warehouse):
    run = demo_warehouse  # the session's demo warehouse (conftest), published
    port = free_port()
    env = dict(os.environ, CUSTSEG_SERVING_PATH=str(run.serving_path))
    # the documented command (docs/dashboard.md); exec replaces the shell by streamlit
    proc = subprocess.Popen(
        ["bash", "scripts/dashboard.sh", "--server.port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the dashboard server did not start: " + (proc.stdout.read() if proc.stdout else ""))
        time.sleep(0.5)
    yield url, port
    proc.terminate()
    proc.wait(timeout=20)


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP port is listening on (Linux /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux /proc/net/tcp")
def test_the_dashboard_listens_on_this_machine_only(server):
    # started as scripts/dashboard.sh starts it (from the project folder, no address given):
    # .streamlit/config.toml keeps customer data on 127.0.0.1, never every interface
    _, port = server
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian hex


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test.sh installs it)"
)
def test_every_page_opens_in_chromium_without_an_error(server, tmp_path):
    from playwright.sync_api import sync_playwright

    server, _ = server
    shots = Path(os.environ.get("CUSTSEG_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in dashboard.PAGES:
            page.goto(f"{server}/?page={quote(name)}")
            page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)
            # wait until the script run is over (the status widget shows while it runs)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
            )
            page.wait_for_timeout(1_500)  # charts draw after the run
            text = page.inner_text("[data-testid='stMain']")
            assert not [m for m in ERROR_MARKERS if m in text], (name, text[:2000])
            assert page.locator("[data-testid='stException']").count() == 0, name
            file = shots / f"{name.lower().replace(' ', '_')}.png"
            page.screenshot(path=str(file), full_page=True)
            assert file.stat().st_size > 10_000
        browser.close()
