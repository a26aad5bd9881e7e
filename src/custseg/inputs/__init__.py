"""The inputs: what the build reads, checked before it reads it.

Both input kinds share the file toolkit and the one rule for text dates; each kind has its own
probe, which the pre-flight hook and the staging models ask (through the dbt plugin) and which
answers how to read the input or one message saying what is wrong and how to fix it.

- ``quoting``: SQL string literals and identifiers (every value and name that reaches SQL);
- ``files``: paths and globs, formats, content fingerprints, literal file names;
- ``readers``: CSV and Parquet readers, text encodings, unreadable-file messages;
- ``xlsx``: XLSX sheets converted to Parquet, formulas without a value;
- ``dates``: the one date-order rule (month-first or day-first, per column);
- ``columns``: a transactions file's column spellings, column map and types;
- ``transactions``: the transactions probe (:func:`~custseg.inputs.transactions.probe_source`);
- ``customer_options``, ``customer_kinds``, ``expressions``, ``customer_probe``: a customer
  table's settings, column kinds, engineered-feature expressions (checked as trees) and probe
  (:func:`~custseg.inputs.customer_probe.probe_customer_table`).
"""


class SourceError(ValueError):
    """An input problem the user can fix; the message says how."""
