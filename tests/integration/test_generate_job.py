"""The generate job through the harness on the shared session: table, TSV, ceiling, idempotent rerun."""

from __future__ import annotations

import glob
import os

from jobs.harness import run_job

DAY = "2026-11-01"


def _fingerprint(df):
    """Order-independent content hash of a DataFrame (computed on executors)."""
    from pyspark.sql import functions as F

    h = F.pmod(F.xxhash64(*df.columns), F.lit(2_147_483_647))
    return df.select(F.sum(h).alias("h"), F.count("*").alias("n")).first()


def test_generate_writes_a_raw_partition_tsv_and_the_ceiling(spark, overrides, settings):
    assert run_job("generate", ["--ds", DAY, "--tsv", *sum((["--set", o] for o in overrides), [])], spark=spark) == 0
    raw = spark.table("raw.click_logs").where(f"ds = '{DAY}'")
    assert raw.count() == settings.synth.rows_per_day
    assert raw.columns == ["label", *[f"I{i}" for i in range(1, 14)], *[f"C{j}" for j in range(1, 27)], "ds"]
    # Criteo TSV: 40 tab-separated fields, no header, empty = missing
    files = glob.glob(os.path.join(settings.project.path("landing", "click_logs", f"ds={DAY}"), "*.csv"))
    lines = [ln.rstrip("\n") for f in files for ln in open(f)]
    assert len(lines) == settings.synth.rows_per_day
    assert {len(ln.split("\t")) for ln in lines} == {40}
    assert any("\t\t" in ln for ln in lines)
    ceiling = spark.table("raw.click_logs_ceiling").where(f"ds = '{DAY}'").collect()
    assert len(ceiling) == 1 and 0.6 < ceiling[0].auc < 0.99 and ceiling[0].rows == settings.synth.rows_per_day


def test_rerun_replaces_the_partition_with_the_same_rows(spark, overrides):
    args = ["--ds", "2026-11-02", *sum((["--set", o] for o in overrides), [])]
    assert run_job("generate", args, spark=spark) == 0
    first = _fingerprint(spark.table("raw.click_logs").where("ds = '2026-11-02'"))
    assert run_job("generate", args, spark=spark) == 0
    again = _fingerprint(spark.table("raw.click_logs").where("ds = '2026-11-02'"))
    assert first == again
    other = _fingerprint(spark.table("raw.click_logs").where(f"ds = '{DAY}'"))
    assert other.h != first.h  # another day, other rows
    history = spark.sql("SELECT ds, count(*) c FROM raw.click_logs_ceiling GROUP BY ds").collect()
    assert all(r.c == 1 for r in history)  # the ceiling is replaced, not appended


def test_bad_input_is_a_one_line_error(spark, overrides, capsys):
    sets = sum((["--set", o] for o in overrides), [])
    assert run_job("generate", ["--ds", DAY, *sets, "--set", "synth.rows_per_day=0"], spark=spark) == 2
    err = capsys.readouterr().err
    assert "rows_per_day must be positive and block_rows in [1, 2097151]" in err and len(err.strip().splitlines()) == 1
    assert run_job("generate", ["--ds", DAY, "--set", "synth.positive_rte=0.1", *sets], spark=spark) == 2
    assert "synth.positive_rte: unknown key (did you mean 'positive_rate'?)" in capsys.readouterr().err


def test_avazu_like_day_through_ingest_and_its_pipeline(spark, overrides, settings):
    """An avazu_like day: raw.avazu_logs (id as string, hour YYMMDDHH), hourly CSV landing files with a
    header, ingest against the avazu contract, and the avazu_default pipeline (hour parts, id kept)."""
    sets = [
        *sum((["--set", o] for o in overrides), []),
        "--set",
        "synth.profile=avazu_like",
        "--set",
        "synth.rows_per_day=3000",
    ]
    assert run_job("generate", ["--ds", DAY, "--tsv", *sets], spark=spark) == 0
    raw = spark.table("raw.avazu_logs").where(f"ds = '{DAY}'")
    assert raw.count() == 3000 and dict(raw.dtypes)["id"] == "string"
    hours = sorted(
        os.path.basename(p) for p in glob.glob(settings.project.path("landing", "avazu_logs", f"ds={DAY}", "hr=*"))
    )
    assert hours == [f"hr={h:02d}" for h in range(24)]
    first = open(glob.glob(settings.project.path("landing", "avazu_logs", f"ds={DAY}", "hr=05", "*.csv"))[0]).readline()
    assert first.startswith('"id","click","hour","C1"')  # a header, every field quoted
    assert run_job("ingest", ["--ds", DAY, "--source", "avazu_logs", *sets], spark=spark) == 0
    assert spark.table("stg.avazu_logs").where(f"ds = '{DAY}'").count() == 3000
    # the landing CSV (a header per file, 24 hourly directories) holds the same rows
    assert run_job("ingest", ["--ds", DAY, "--source", "avazu_csv", *sets], spark=spark) == 0
    from_csv = spark.table("stg.avazu_csv").where(f"ds = '{DAY}'")
    assert from_csv.exceptAll(spark.table("stg.avazu_logs").where(f"ds = '{DAY}'")).count() == 0
    assert from_csv.count() == 3000
    assert run_job("features", ["--ds", DAY, "--pipeline", "avazu_default", "--fit", *sets], spark=spark) == 0
    feat = spark.table("feat.avazu_default").where(f"ds = '{DAY}'")
    assert {"id", "click", "hour_hour", "hour_weekday", "site_id_idx"} <= set(feat.columns)
    assert feat.where("hour_hour = 0 OR hour_weekday != 7").count() == 0  # 2026-11-01 is a Sunday
    assert feat.select("id").distinct().count() == 3000


READ_DAY = (
    "import sys\nfrom pipelines.common import config\nfrom pipelines.common.spark import get_session\n"
    "s = config.load('local', overrides=sys.argv[2:]).settings\n"
    "spark = get_session(s)\n"
    "print('rows', spark.table('raw.click_logs').where(f\"ds = '{sys.argv[1]}'\").count())\n"
)


def test_kill_9_while_writing_leaves_the_previous_raw_partition_whole(tmp_path):
    """A generate killed (SIGKILL, driver and JVM) in the middle of rewriting a day leaves that day's raw
    partition as the previous run wrote it, and a rerun then replaces it."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT, run_cli, test_overrides

    sets = [x for o in test_overrides(tmp_path) for x in ("--set", o)]
    generate = [sys.executable, "-m", "jobs", "generate", "--ds", DAY, *sets]
    first = run_cli(generate, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    table_dir = tmp_path / "warehouse" / "raw.db" / "click_logs"
    before = {p for p in table_dir.rglob("*")}
    assert any(p.suffix == ".parquet" for p in before)

    big = [*generate, "--set", "synth.rows_per_day=400000", "--set", "synth.block_rows=20000"]
    proc = subprocess.Popen(
        big, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while not ({p for p in table_dir.rglob("*")} - before) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # until the second run has started writing files into the table
        assert proc.poll() is None, "the second run ended before it was killed: " + proc.stderr.read()[-2000:]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    read = run_cli(
        [sys.executable, "-c", READ_DAY, DAY, *test_overrides(tmp_path)], timeout=300, env={"PYTHONPATH": str(ROOT)}
    )
    assert read.returncode == 0, read.stderr[-3000:]
    assert "rows 4000" in read.stdout.splitlines()
    # the rerun replaces the day and, like every successful run, prints no stack trace (the metastore's
    # "could not alter table" noise on each Delta rewrite of a Hive-registered table is silenced)
    again = run_cli(generate, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr and "Exception" not in again.stderr, again.stderr[-3000:]
    assert len({p.parent for p in table_dir.rglob("*.parquet")}) == 1  # the killed run's files are gone


def test_recs_day_through_ingest_and_its_pipeline(spark, overrides, settings):
    """A recs day: raw.recs_logs with the ids and attributes, CSV landing with a header, ingest against
    the recs contract, and the recs pipeline (ids kept raw and indexed, the cross, the age flag)."""
    sets = [
        *sum((["--set", o] for o in overrides), []),
        *("--set", "synth.profile=recs", "--set", "synth.rows_per_day=4000"),
        *("--set", "synth.recs.users=300", "--set", "synth.recs.items=200"),
    ]
    assert run_job("generate", ["--ds", DAY, "--tsv", *sets], spark=spark) == 0
    raw = spark.table("raw.recs_logs").where(f"ds = '{DAY}'")
    assert raw.count() == 4000 and raw.columns[:3] == ["click", "user_id", "u_segment"]
    first = open(glob.glob(settings.project.path("landing", "recs_logs", f"ds={DAY}", "*.csv"))[0]).readline()
    assert first.startswith("click,user_id,u_segment,u_region")
    ceiling = spark.table("raw.recs_logs_ceiling").where(f"ds = '{DAY}'").collect()
    assert len(ceiling) == 1 and 0.6 < ceiling[0].auc < 0.95
    assert run_job("ingest", ["--ds", DAY, "--source", "recs_logs", *sets], spark=spark) == 0
    assert spark.table("stg.recs_logs").where(f"ds = '{DAY}'").count() == 4000
    assert run_job("features", ["--ds", DAY, "--pipeline", "recs", "--fit", *sets], spark=spark) == 0
    feat = spark.table("feat.recs").where(f"ds = '{DAY}'")
    wanted = {"user_id", "item_id", "click", "user_id_idx", "item_id_idx", "u_segment_x_i_category"}
    assert wanted | {"u_age_imp_missing", "u_age_num", "i_price_num"} <= set(feat.columns)
    assert feat.where("user_id_idx >= 2").count() > 3000  # most rows are of users seen at least twice
