"""Market data: ISO price files and APIs to one canonical table, and the local store.

- ``schema``: the canonical price table.
- ``importers``: ``read_prices(path)`` and ``parse_payload(bytes, name)`` detect the format and
  call ``ercot_files``, ``pjm_files`` or ``generic_csv``; ``raw_table``, ``headers`` and
  ``local_time`` are their building blocks; ``quality`` describes gaps, duplicates, revisions
  and out-of-range prices.
- ``store``: ``open_store()`` gives the Parquet ``PriceStore`` (seeded from the shipped ERCOT file).
- ``calendar``: ISO time zones, holidays and block shapes.
- ``fetch`` with ``http``, ``ercot_api``, ``ercot_mis``, ``pjm_api``: downloads from the ISOs.
"""
