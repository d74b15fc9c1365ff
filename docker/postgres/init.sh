#!/bin/bash
# One Postgres for the compose file: Airflow's metadata database and the Hive metastore's. The passwords
# come from the environment (docker/.env through the compose file), passed to psql as variables so that
# psql quotes them as SQL literals instead of pasting them into the SQL text.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
     -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v hive_pw="$HIVE_DB_PASSWORD" <<'SQL'
CREATE USER airflow WITH PASSWORD :'airflow_pw';
CREATE DATABASE airflow OWNER airflow;
CREATE USER hive WITH PASSWORD :'hive_pw';
CREATE DATABASE metastore OWNER hive;
SQL
