"""What the Streamlit dashboard (dashboard/app.py, one file per page in dashboard/views/) shows,
by concern:

- ``store``: the serving copy, read-only, one query at a time;
- ``queries``: the pages' tables (overview, segments, k, RFM, classifier, history, value);
- ``explorer``: a segment's customers, filtered, sorted, downloaded;
- ``score_form``: one customer scored by the active model;
- ``upload`` and ``upload_probe``: an uploaded file segmented in a workspace of its own;
- ``look``: labels, number formats and one colour per segment.
"""

# the pages, in the sidebar's order: (title, the file in dashboard/views/ and its URL path)
PAGES = (
    ("Overview", "overview"),
    ("Segments", "segments"),
    ("Choosing k", "choosing_k"),
    ("RFM map", "rfm_map"),
    ("Classifier", "classifier"),
    ("Over time", "over_time"),
    ("Segment explorer", "explorer"),
    ("Value ahead", "value_ahead"),
    ("Score a customer", "score"),
    ("Try your own file", "upload"),
)
