"""Recall -> rank: candidate rows, ranking, and the quality of a day's recommendations."""
