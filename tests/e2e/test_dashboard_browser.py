"""Every dashboard page in a real browser: the Streamlit server on localhost, Debian's headless
Chromium driven by Playwright (nothing downloads a browser; scripts/test.sh installs chromium).
No page shows an error, and each page's screenshot is saved (to CUSTSEG_SCREENSHOT_DIR when set:
that is how docs/screenshots/ is made)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from custseg.dashboard import PAGES, explorer, look
from helpers import chromium, dashboard_server

PAGE_TITLES = [title for title, _ in PAGES]

pytestmark = pytest.mark.e2e

ERROR_MARKERS = ("Traceback", "Error:", "Exception", "No published warehouse")


@pytest.fixture(scope="module")
def server(demo_warehouse):
    # the session's demo warehouse (conftest), published
    with dashboard_server(demo_warehouse.serving_path) as started:
        yield started


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


# every text a data grid draws on its canvases (Streamlit's grid is a canvas for the cells and
# one for the headers: the words and numbers an analyst sees are only in their fillText calls,
# and only what is on screen is drawn; the accessible table under it holds the raw values)
RECORD_DRAWN_TEXT = """
(() => {
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    (this.canvas.__drawn = this.canvas.__drawn || new Set()).add(String(text));
    return fillText.call(this, text, ...rest);
  };
})();
"""
PAGE_FACTS = """() => {
const list = v => (Array.isArray(v) || ArrayBuffer.isView(v)) ? Array.from(v) : null;
return {
  grids: Array.from(document.querySelectorAll('[data-testid=stDataFrame]')).map(g => ({
    heads: Array.from(g.querySelectorAll('th')).map(e => e.textContent),
    rows: Array.from(g.querySelectorAll('tbody tr')).map(r => Array.from(r.querySelectorAll('td')).map(e => e.textContent)),
    drawn: Array.from(g.querySelectorAll('canvas')).flatMap(c => Array.from(c.__drawn || [])),  // cells, then headers
  })),
  traces: Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(e => (e._fullData || e.data || []).map(t => ({
    name: t.name || '', type: t.type, x: list(t.x), y: list(t.y),
    color: t.marker && typeof t.marker.color === 'string' ? t.marker.color : null,
    labels: Array.isArray(t.labels) ? t.labels : null,
    colors: t.marker && Array.isArray(t.marker.colors) ? t.marker.colors : null,
  }))),
  titles: Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(e =>
    Object.entries(e.layout || {}).filter(([k]) => /^(xaxis|yaxis|legend|coloraxis)/.test(k)).map(([, v]) =>
      (v && v.title && v.title.text) || (v && v.colorbar && v.colorbar.title && v.colorbar.title.text) || '')),
  metrics: Array.from(document.querySelectorAll('[data-testid=stMetric]')).map(e => e.innerText.split('\\n')),
}; }"""
# the page has drawn, once its script run has ended: no placeholder is left (Streamlit shows a
# skeleton while a grid's or a chart's code loads), every chart has its Plotly figure, and every
# grid has drawn its header and cells; true on two polls in a row (one frame of a swap apart)
PAGE_DRAWN = """() => {
  const grids = Array.from(document.querySelectorAll('[data-testid=stDataFrame]'));
  const charts = Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'));
  const drawn = !document.querySelector('[data-testid=stSkeleton]')
    && charts.every(c => { const plot = c.querySelector('.js-plotly-plot'); return plot && plot._fullData; })
    && grids.every(g => g.querySelector('th') && g.querySelector('tbody td')
      && g.querySelector('canvas') && g.querySelector('canvas').__drawn);
  window.__drawnPolls = drawn ? (window.__drawnPolls || 0) + 1 : 0;
  return window.__drawnPolls >= 2;
}"""
# two animation frames: what the browser had to draw (after a resize, a grid's redraw) is drawn
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
ID_HEADERS = {look.label(c) for c in ("customer_id", "stock_code", "cluster_id", "run_id")}
SHARE_HEADERS = {look.label(c) for c in look.SHARES}
UNFORMATTED = re.compile(r"-?(\d{4,}(\.\d+)?|\d+\.\d{3,})")  # 12345, 2841.2, 0.123: not formatted
SHARED_TABLES = ["marketing_campaign.csv", "cc_general.csv", "ecommerce_customer_behavior.csv"]
# the columns that answer first: on screen at 1280 wide without scrolling the grid sideways
KEY_COLUMNS = {
    "Segments": ("Segment", "Customers", "Share of customers", "Share of predicted CLV", "Mean churn risk"),
    "Value ahead": ("Segment", "Customers", look.label("predicted_clv"), "Share of predicted CLV", "Mean churn risk"),
    "Segment explorer": ("Customer", "Segment", look.label("predicted_clv"), "Churn risk", "Value decile (1 = top 10%)"),
}  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def new_page(browser, width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 1000}, accept_downloads=True)
    context.add_init_script(RECORD_DRAWN_TEXT)
    return context.new_page()


def open_page(page, url: str, name: str) -> dict:
    """Opens a dashboard page, waits for its script run and charts, and returns what it shows.
    A browser not yet on the dashboard opens the page's own address (st.navigation gives each
    page a URL path; the first page's is the app's root); one on it follows the sidebar's link,
    as a person does, which must lead to that address (a full load per page cost Chromium about
    twice the CPU)."""
    address = f"{url}/{page_path(name)}"
    if page.url.startswith(url):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True).click()
        page.wait_for_url(address)
    else:
        page.goto(address)
    page.get_by_role("heading", name=name).first.wait_for(timeout=60_000)
    settle(page)
    return page.evaluate(PAGE_FACTS)


def page_path(name: str) -> str:
    """A page's URL path: its file's name, but the first page's, the app's root (Streamlit serves
    the default page at / only: /overview answers "Page not found")."""
    return "" if name == PAGE_TITLES[0] else dict(PAGES)[name]


def settle(page, timeout: int = 60_000) -> None:
    """Waits for the script run to end (Streamlit marks the app notRunning), then for the page's
    grids and charts to mount and draw."""
    page.wait_for_selector("[data-test-script-state='notRunning']", state="attached", timeout=timeout)
    page.evaluate("() => { window.__drawnPolls = 0; }")
    page.wait_for_function(PAGE_DRAWN, polling=100, timeout=timeout)
    page.evaluate(NEXT_FRAMES)


def screenshot_whole_page(page, file: Path) -> None:
    """The page from top to bottom: Streamlit scrolls inside its main block, so the window is
    made as tall as the block's content for the picture, then put back."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height), 6_000))})
    settle(page)  # the taller window: the charts and grids drawn again
    page.screenshot(path=str(file))
    page.set_viewport_size(size)


def formatting_problems(grid: dict) -> list[str]:
    """What a grid draws raw: a number without thousands separators or with raw decimals
    (identifiers apart), or a money or share column on screen none of whose values is drawn as
    money (separators, no decimals) or as a percentage with one decimal. The accessible table
    under the canvas holds a few rows and columns more than are drawn, so a column counts as
    shown when its header is drawn, and then its drawn values must be the formatted ones."""
    problems, code, drawn = [], look.currency(), set(grid["drawn"])
    identifiers = {row[i] for row in grid["rows"] for i, h in enumerate(grid["heads"]) if h in ID_HEADERS}
    problems += [f"drawn raw: {t}" for t in drawn if UNFORMATTED.fullmatch(t) and t not in identifiers]
    problems += [f"a code, not words: {t}" for t in drawn if look.is_raw_name(t)]
    for i, head in enumerate(grid["heads"]):
        if not (head.endswith(f"({code})") or head in SHARE_HEADERS):
            continue
        # a column with a missing value is sent as look.table's formatted text (the grid draws a
        # missing value as "None" otherwise): its values are checked as drawn, not re-formatted
        raw = [row[i] for row in grid["rows"] if i < len(row) and row[i] not in ("", "null")]
        if any(v == look.MISSING or not re.fullmatch(r"-?[\d.e+-]+", v) for v in raw):
            continue
        values = [float(v) for v in raw]
        shown = {f"{v:,.0f}" if head.endswith(f"({code})") else f"{v:.1%}" for v in values}
        if head in drawn and values and not shown & drawn:
            problems.append(f"{head}: none of {sorted(shown)[:5]} is drawn")
    return problems


# a new width: the grids' drawn texts are emptied, the window resized, and each grid has drawn
# again (a grid stretches with the window: a new width is a new canvas)
FORGET_DRAWN = "() => document.querySelectorAll('[data-testid=stDataFrame] canvas').forEach(c => c.__drawn && c.__drawn.clear())"
REDRAWN = """() => Array.from(document.querySelectorAll('[data-testid=stDataFrame]')).every(g =>
  g.querySelector('canvas') && g.querySelector('canvas').__drawn && g.querySelector('canvas').__drawn.size > 0)"""


def test_every_page_reads_as_words_with_formatted_numbers_and_one_colour_per_segment(
    server, browser, demo_warehouse, tmp_path
):
    """Every page in Chromium at 1280 and 1920 wide: no error, no snake_case header, axis or
    metric label, money and shares drawn formatted, no raw number; a segment has one colour on
    every chart (read from the Plotly figures), no two segments share one. Each page is opened at
    1280 (its screenshot saved, to CUSTSEG_SCREENSHOT_DIR when set: scripts/screenshots.sh), then
    the window widened to 1920 and what the grids draw there checked again: the page's script
    run does not depend on the window (the server never sees it), what is drawn does."""
    url, _ = server
    shots = Path(os.environ.get("CUSTSEG_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    names = set(explorer.segments(demo_warehouse.serving_path)["segment_name"])
    colours: dict[str, set[str]] = {}
    page = new_page(browser, 1280)

    def check(name: str, facts: dict, width: int) -> None:
        text = page.inner_text("[data-testid='stMain']")
        assert not [m for m in ERROR_MARKERS if m in text], (name, width, text[:2000])
        assert page.locator("[data-testid='stException']").count() == 0, name
        # no dialog over the page (Streamlit's "Page not found", for one)
        assert page.locator("[data-testid='stDialog']").count() == 0, (name, width)
        words = (
            [h for g in facts["grids"] for h in g["heads"]]
            + facts["titles"]
            + [m[0] for m in facts["metrics"]]
        )
        assert not [w for w in words if look.is_raw_name(w)], (name, words)
        for grid in facts["grids"]:
            assert not formatting_problems(grid), (name, width, grid["heads"], formatting_problems(grid))
            assert "None" not in grid["drawn"] and "nan" not in grid["drawn"], (name, width, grid["heads"])
        if name in KEY_COLUMNS:  # the grid that answers shows its key columns on screen
            assert any(set(KEY_COLUMNS[name]) <= set(g["drawn"]) for g in facts["grids"]), (
                name, width, [sorted(set(g["heads"]) & set(g["drawn"])) for g in facts["grids"]])  # fmt: skip
        for label, *value in facts["metrics"]:
            if label.endswith(f"({look.currency()})"):
                assert look.money(0.0)[0] in value[-1] and UNFORMATTED.search(value[-1]) is None, (
                    name,
                    value,
                )
        for trace in facts["traces"]:
            pairs = (
                zip(trace["labels"], trace["colors"], strict=True)
                if trace["colors"]
                else [(trace["name"], trace["color"])]
            )
            for segment, colour in pairs:
                if segment in names and colour:
                    colours.setdefault(segment, set()).add(colour)

    for name in PAGE_TITLES:
        page.set_viewport_size({"width": 1280, "height": 1000})
        check(name, open_page(page, url, name), 1280)
        file = shots / f"{name.lower().replace(' ', '_')}.png"  # the pictures of docs/screenshots/
        screenshot_whole_page(page, file)
        assert file.stat().st_size > 10_000
        page.evaluate(FORGET_DRAWN)
        page.set_viewport_size({"width": 1920, "height": 1000})
        page.wait_for_function(REDRAWN, polling=100, timeout=60_000)
        settle(page)
        check(name, page.evaluate(PAGE_FACTS), 1920)
    page.context.close()
    assert set(colours) == names  # every segment is on a chart
    assert all(len(c) == 1 for c in colours.values()), colours
    assert len({c for cs in colours.values() for c in cs}) == len(names), colours


def test_the_explorers_download_in_the_browser_is_the_marts_rows(server, browser, demo_warehouse):
    """A marketer filters a segment's customers on the explorer page and downloads the list: the
    CSV and Parquet files are the mart rows of that segment that match the filter."""
    url, _ = server
    page = new_page(browser)
    open_page(page, url, "Segment explorer")
    serving = demo_warehouse.serving_path
    cluster_id = int(explorer.segments(serving)["cluster_id"].iloc[0])  # the page's first choice
    con = duckdb.connect(str(serving), read_only=True)
    try:
        rows = con.execute(
            "select s.customer_id, s.order_count, s.monetary_value, v.predicted_clv "
            "from marts.dim_customer_segments s left join marts.dim_customer_value v using (customer_id) "
            "where s.cluster_id = ? order by s.customer_id",
            [cluster_id],
        ).df()
    finally:
        con.close()
    at_least = int(rows["order_count"].median()) + 1  # a filter that leaves part of the segment
    expected = rows[rows["order_count"] >= at_least]
    assert 0 < len(expected) < len(rows)
    page.get_by_label("At least (orders)").fill(str(at_least))
    page.get_by_label("At least (orders)").press("Enter")
    page.get_by_text(f"{len(expected):,} customers match").wait_for(timeout=60_000)  # the filter's rerun
    settle(page)
    for fmt, read in (
        ("CSV", lambda p: pd.read_csv(p, dtype={"customer_id": str})),
        ("Parquet", pd.read_parquet),
    ):
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Download the {len(expected):,} customers ({fmt})").click()
        frame = read(download.value.path())
        name = explorer.segments(serving)["segment_name"].iloc[0]
        assert download.value.suggested_filename == explorer.export_file_name(name, fmt.lower()), fmt
        assert frame["customer_id"].tolist() == expected["customer_id"].tolist(), fmt
        assert (frame["segment_name"] == name).all()
        assert frame["monetary_value"].to_numpy() == pytest.approx(expected["monetary_value"].to_numpy())
        assert frame["predicted_clv"].to_numpy() == pytest.approx(expected["predicted_clv"].to_numpy())
    page.context.close()


def test_a_shared_customer_table_uploads_and_is_segmented_in_the_browser(server, browser, shared_data):
    """Upload → build → charts → download, as a person does it: the page detects a customer table
    from the header and proposes its columns; "Segment" builds it in a workspace of its own; the
    k-selection chart, customers per segment and the download follow (every customer once). One
    of the three public tables (each is recognised by its header in test_dashboard, and built by
    its documented command in test_real_customer_tables)."""
    table = SHARED_TABLES[0]
    url, _ = server
    page = new_page(browser)
    open_page(page, url, "Try your own file")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(shared_data / table))
    page.get_by_text("A customer table (one row per customer)").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_role("radio", name="A customer table (one row per customer)").is_checked()
    page.get_by_role("button", name="Segment", exact=True).click()
    download_button = page.get_by_role("button", name="Download customer_segments.csv")
    download_button.wait_for(timeout=300_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlert']").count() == 0, page.inner_text("[data-testid='stMain']")
    with page.expect_download() as download:
        download_button.click()
    segments = pd.read_csv(download.value.path())
    assert segments["customer_id"].is_unique and len(segments) > 300
    facts = page.evaluate(PAGE_FACTS)
    sweep = [t for t in facts["traces"] if t["type"] == "scatter" and t["x"] and len(t["x"]) > 1]
    assert sweep and min(sweep[0]["x"]) == 2 and max(sweep[0]["x"]) == 10  # the page's k range
    sizes = [t for t in facts["traces"] if t["type"] == "bar"]
    assert sum(sum(t["y"]) for t in sizes) == len(segments)  # customers per segment add up
    assert set(segments["segment_name"]) == {t["name"] for t in sizes}
    page.context.close()
