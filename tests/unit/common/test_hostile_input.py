"""Hostile config and arguments: each is refused before any data or Spark is touched, with one line that
names the key (or option) and, for a file, the file; the process exits 2. Secrets never reach output."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from jobs import cli
from jobs.harness import run_job
from pipelines.common import config
from pipelines.core.errors import ConfigError
from pipelines.core.names import check_name, check_table, mask_secrets, quote_ident, sql_literal
from pipelines.settings import ProjectSettings

ROOT = Path(__file__).resolve().parents[3]
DS = "2026-11-01"
INJECTION = "t (a int) USING parquet LOCATION '/x' --"


def _config(*args: str) -> int:
    return cli.main(["config", *args])


def _job(name: str, *args: str) -> int:
    return run_job(name, ["--ds", DS, *args])


def _check(*args: str) -> int:
    return run_job("check_quality", ["--ds", DS, *args])


# (id, command, what the one-line error must contain)
CASES = [
    (
        "backtick database",
        lambda: _config("--set", "project.databases.stg=st`g"),
        "--set project.databases.stg: project.databases.stg: 'st`g' is not a valid name",
    ),
    (
        "create table injection",
        lambda: _config("--set", f"synth.table={INJECTION}"),
        '--set synth.table: synth.table: "t (a int)',
    ),
    (
        "semicolon in a source table",
        lambda: _config("--set", "sources.sources.click_logs.table=raw.t;DROP"),
        "sources.sources.click_logs.table: 'raw.t;DROP' is not a valid table name",
    ),
    (
        "three-part table",
        lambda: _config("--set", "dags.ann_weekly.embeddings=a.b.c"),
        "dags.ann_weekly.embeddings: 'a.b.c' is not a valid table name",
    ),
    (
        "source name with a space",
        lambda: _config("--set", "sources.sources={'a b': {kind: hive, table: raw.t, contract: criteo}}"),
        "sources.sources.a b: 'a b' is not a valid name",
    ),
    ("model name with ..", lambda: _config("--set", "gbdt.model_name=../x"), "gbdt.model_name: '../x'"),
    ("pipeline key a path", lambda: _config("--set", "ctr.pipeline=a/b"), "ctr.pipeline: 'a/b'"),
    (
        "deep model with a quote",
        lambda: _config("--set", 'dags.ctr_daily.deep_models=["deep\'fm"]'),
        'dags.ctr_daily.deep_models[0]: "deep\'fm" is not a valid name',
    ),
    (
        "NaN min_delta",
        lambda: _config("--set", "registry.gate.min_delta=.nan"),
        "--set registry.gate.min_delta: registry.gate.min_delta: expected a finite number, got nan",
    ),
    (
        "inf max_psi",
        lambda: _config("--set", "dags.ctr_daily.quality.max_psi=.inf"),
        "dags.ctr_daily.quality.max_psi: expected a finite number, got inf",
    ),
    (
        "source path with ..",
        lambda: _config("--set", "sources.sources.criteo_tsv.path=../../etc/{ds}"),
        "sources.sources.criteo_tsv: path '../../etc/{ds}': '..' segments are not allowed",
    ),
    ("env ../..", lambda: _config("--env", "../.."), "--env '../..': an overlay is a directory name under conf/"),
    ("env absolute", lambda: _config("--env", "/abs"), "--env '/abs'"),
    ("env base", lambda: _config("--env", "base"), "--env base: conf/base is not an overlay"),
    ("env jars", lambda: _config("--env", "jars"), "--env jars: conf/jars is not an overlay"),
    ("job env ../..", lambda: _job("publish", "--model", "m", "--env", "../.."), "--env '../..'"),
    (
        "named document path",
        lambda: _config("--set", "features.x/y.train_days=1"),
        "--set features.x/y.train_days: features 'x/y' is not a valid name",
    ),
    (
        "features --pipeline ../x",
        lambda: _job("features", "--pipeline", "../x"),
        "--pipeline: pipeline: '../x' is not a valid name",
    ),
    (
        "features --pipeline outside conf",
        lambda: _job("features", "--pipeline", "../../../../tmp/x", "--fit"),
        "--pipeline: pipeline: '../../../../tmp/x' is not a valid name",
    ),
    (
        "features --pipeline unknown",
        lambda: _job("features", "--pipeline", "nope", "--fit"),
        "--pipeline nope: no features named 'nope' in conf/base/features (known: ",
    ),
    (
        "features --source injection",
        lambda: _job("features", "--pipeline", "ctr_default", "--source", "x' OR 1=1"),
        '--source: source: "x\' OR 1=1" is not a valid name',
    ),
    ("ingest --source path", lambda: _job("ingest", "--source", "../x"), "--source: source: '../x'"),
    ("train_ctr --model path", lambda: _job("train_ctr", "--model", "../deepfm"), "--model: model: '../deepfm'"),
    (
        "train_ctr --model-name",
        lambda: _job("train_ctr", "--model", "lr", "--model-name", "a;b"),
        "--model-name: model_name: 'a;b' is not a valid name",
    ),
    (
        "score --table injection",
        lambda: _job("score", "--model", "m", "--table", "feat.x; DROP"),
        "--table: table: 'feat.x; DROP' is not a valid table name",
    ),
    (
        "check_quality --source injection",
        lambda: _check("--source", "x' OR '1'='1", "--pipeline", "ctr_default"),
        "--source: source: \"x' OR '1'='1\" is not a valid name",
    ),
    (
        "check_quality --pipeline path",
        lambda: _check("--source", "click_logs", "--pipeline", "../x"),
        "--pipeline: pipeline: '../x' is not a valid name",
    ),
]


@pytest.mark.parametrize("command, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_is_one_line_naming_the_key_and_exit_2(command, expected, capsys):
    code = command()
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert expected in err


def test_duplicate_yaml_key_names_the_file_and_the_key(tmp_path, monkeypatch, capsys):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "local" / "synth.yml").write_text("seed: 1\nrows_per_day: 10\nseed: 2\n")
    monkeypatch.setenv("CTRFLOW_CONF", str(conf))
    assert _config() == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ctrflow config: error: {conf / 'local' / 'synth.yml'}: key 'seed' is given twice (lines 1 and 3)"
    with pytest.raises(ConfigError, match="key 'a' is given twice"):
        config.parse_set(["synth.cardinalities={a: 1, a: 2}"])


def test_a_named_document_outside_conf_is_never_read(tmp_path):
    (tmp_path / "x.yml").write_text("source: click_logs\nstages: []\n")
    rel = Path("..") / ".." / ".." / tmp_path.relative_to("/") / "x"
    with pytest.raises(ConfigError, match="is not a valid name"):
        config.load_named("features", str(rel), dict)


@pytest.mark.parametrize(
    "conf, expected",
    [
        ({"overrides": ["project.state_dir=/tmp/x"]}, "'project.state_dir' may not be set by a triggered run"),
        ({"overrides": ["spark.profiles.local.conf.spark.jars=/tmp/evil.jar"]}, "'spark.profiles.local.conf"),
        ({"overrides": ["dags.spark_submit=/tmp/x"]}, "'dags.spark_submit' may not be set"),
        ({"overrides": ["sources.sources.click_logs.path=/etc"]}, "'sources.sources.click_logs.path' may not"),
        ({"overrides": ["ctr.checkpoint_dir=/tmp/x"]}, "'ctr.checkpoint_dir' may not be set"),
        ({"overrides": ["registry.root=/tmp/x"]}, "'registry.root' may not be set"),
        ({"env": "../.."}, "dag run conf env: --env '../..'"),
        ({"env": "base"}, "dag run conf env: --env base"),
        ({"env": ["local"]}, "dag run conf 'env' must be an overlay name"),
    ],
)
def test_run_conf_outside_the_allowlist_is_a_task_error_naming_the_key(conf, expected):
    from airflow.sdk.exceptions import AirflowFailException

    from operators.run_conf import resolve

    with pytest.raises(ConfigError) as e:
        resolve({"dag_run": SimpleNamespace(conf=conf)}, None, ["project.state_dir=/ok"])
    assert isinstance(e.value, AirflowFailException)  # not retried
    assert e.value.exit_code == 2 and len(str(e.value).splitlines()) == 1 and expected in str(e.value)


def test_run_conf_inside_the_allowlist_is_added_after_the_operators_own():
    from operators.run_conf import resolve

    conf = {
        "env": "cluster",
        "overrides": [
            "synth.seed=3",
            "gbdt.trees.max_depth=3",
            "registry.gate.min_delta=0.01",
            "features.ctr_default.train_days=2",
            "dags.ctr_daily.quality.max_psi=1",
        ],
    }
    env, sets = resolve({"dag_run": SimpleNamespace(conf=conf)}, "local", ["project.state_dir=/ok"])
    assert env == "cluster" and sets == ["project.state_dir=/ok", *conf["overrides"]]


def test_secrets_are_masked_in_config_output_and_type_errors(capsys):
    key = "spark.profiles.local.conf.fs.azure.account.key.acct.blob.core.windows.net"
    assert (
        _config(
            "--set",
            f"{key}=s3cr3tV4lue",
            "--set",
            "spark.profiles.local.conf.google.cloud.auth.service.account.json.private.key=pr1vate",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "s3cr3tV4lue" not in out and "pr1vate" not in out
    assert '"fs.azure.account.key.acct.blob.core.windows.net": "***"' in out
    assert _config("--set", "spark.profiles.local.conf.spark.hadoop.fs.s3a.secret.key=[s3cr3t]") == 2
    err = capsys.readouterr().err
    assert "s3cr3t" not in err and "spark.hadoop.fs.s3a.secret.key: expected str | int | float | bool, got ***" in err


def test_masking_leaves_ordinary_keys_alone():
    tree = {
        "spark": {
            "conf": {
                "spark.hadoop.fs.s3a.access.key": "AK",
                "spark.sql.shuffle.partitions": 4,
                "spark.authenticate.secret": "s",
                "spark.io.encryption.keySizeBits": 128,
            }
        },
        "ctr": {"min_delta": 0.0, "keep": ["id"]},
    }
    masked = mask_secrets(tree)
    assert masked["spark"]["conf"] == {
        "spark.hadoop.fs.s3a.access.key": "***",
        "spark.sql.shuffle.partitions": 4,
        "spark.authenticate.secret": "***",
        "spark.io.encryption.keySizeBits": 128,
    }
    assert masked["ctr"] == tree["ctr"]


def test_the_identifier_rule_and_quoting():
    for good in ("raw", "click_logs", "C1", "_x"):
        assert check_name(good) == good
    for bad in ("", "a b", "a.b", "a`b", "a;b", "a'b", 'a"b', "a/b", "..", "a-b", "a\nb"):
        with pytest.raises(ValueError):
            check_name(bad)
    assert check_table("raw.click_logs") == "raw.click_logs"
    for bad in ("a..b", ".a", "a.", "a.b.c", "a/b", "a.`b`"):
        with pytest.raises(ValueError):
            check_table(bad)
    assert quote_ident("raw.click_logs") == "`raw`.`click_logs`"
    assert sql_literal("x' OR '1'='1") == "'x\\' OR \\'1\\'=\\'1'"


def test_state_dir_subpaths_stay_under_it():
    project = ProjectSettings(state_dir="/srv/state")
    assert project.path("features", "ctr_default") == "/srv/state/features/ctr_default"
    assert project.path("landing/click_logs/ds=2026-11-01") == "/srv/state/landing/click_logs/ds=2026-11-01"
    for bad in ("../x", "a/../../b", "/etc"):
        with pytest.raises(ConfigError, match="must stay under its root"):
            project.path("features", bad)
