"""Airflow operators, hooks and sensors for ctrflow jobs (Airflow only; the library never imports Airflow).

Import the classes from their modules (`from operators.spark_job import SparkJobOperator`): this
package module stays empty so that importing one operator does not import the others.
"""
