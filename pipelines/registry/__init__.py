"""The model registry: versioned models and indices with lineage, metrics and a gated champion.

`from pipelines.registry.store import Registry`; this package's __init__ stays import-free so the
settings tree (read by the CLI and DAG files) does not pull pyarrow.
"""
