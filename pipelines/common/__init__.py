"""Shared plumbing: config, Spark session, errors, timing, storage paths."""
