"""Airflow operators, hooks and sensors for ctrflow jobs (Airflow only; the library never imports Airflow)."""
