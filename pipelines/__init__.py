"""ctrflow's library: everything a job needs, nothing that imports Airflow."""
