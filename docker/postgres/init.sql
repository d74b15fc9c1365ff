-- One Postgres for the compose file: Airflow's metadata database and the Hive metastore's.
CREATE USER airflow WITH PASSWORD 'airflow';
CREATE DATABASE airflow OWNER airflow;
CREATE USER hive WITH PASSWORD 'hive';
CREATE DATABASE metastore OWNER hive;
