"""Evaluation: AUC, logloss, normalized entropy, calibration — computed distributed on Spark."""
