"""Batch Faiss indices: automatic index choice, distributed build on Spark, measured recall, batch retrieval."""
