"""The segmentation dashboard: `bash scripts/dashboard.sh` (or `.venv/bin/streamlit run dashboard/app.py`).

Reads the published serving database read-only (CUSTSEG_SERVING_PATH, default
warehouse/custseg.duckdb), so it keeps working while `dbt build` runs. One file per page in
dashboard/views/ (the order and titles: custseg.dashboard.PAGES); the numbers come from the
package custseg.dashboard, the pages only lay them out. A link of the earlier one-page app
(`?page=Value ahead`) opens that page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from custseg.dashboard import PAGES, store
from custseg.warehouse import WarehouseRefused

st.set_page_config(page_title="Customer segments", layout="wide")

VIEWS = Path(__file__).parent / "views"
pages = {title: st.Page(VIEWS / f"{stem}.py", title=title, url_path=stem, default=i == 0)
         for i, (title, stem) in enumerate(PAGES)}  # fmt: skip
current = st.navigation(list(pages.values()))
wanted = st.query_params.get("page")
if wanted in pages and pages[wanted] is not current:
    st.switch_page(pages[wanted])
with store.page_run():  # one connection per file for the page's queries (custseg.dashboard.store)
    if not store.serving_path().exists():
        st.error(
            f"No published warehouse at {store.serving_path()}: run `bash scripts/build.sh` first, or set "
            "CUSTSEG_SERVING_PATH."
        )
        st.stop()
    try:
        store.check_warehouse()
    except WarehouseRefused as exc:
        st.error(str(exc))
        st.stop()
    current.run()
