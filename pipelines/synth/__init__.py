"""Synthetic Criteo-shaped click logs drawn from a planted ground-truth CTR model."""
