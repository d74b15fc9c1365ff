"""Ingestion: declared sources (Hive, Parquet, CSV/TSV) -> staged Delta tables, with contracts and quarantine."""
