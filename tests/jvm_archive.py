"""A class-data-sharing archive for the tests' short Spark JVMs (`python -m tests.jvm_archive` makes it).

A tiny job's JVM spends most of its CPU loading, verifying and first running the classes of Spark, Hive,
DataNucleus and Delta; the suite starts a few hundred of them on 2 cores. HotSpot's dynamic CDS archive
(JDK 13+: `-XX:ArchiveClassesAtExit` on one run, `-XX:SharedArchiveFile` on the next ones) maps those
classes already parsed and verified. The archive is made once per machine from one `generate` job (Spark
SQL, Hive metastore on Derby, Parquet, CSV and Delta writes), under .state/jvm/ with a name keyed by the
JVM, pyspark's jars and the project's jars, so a new JDK or jar set makes a new one. Delta's jars are put on
the driver's class path too (in `local` mode the driver is the executor): classes from spark.jars come
through Spark's own class loader, which a JDK 17 dynamic archive does not hold.

Without the archive (not made yet, or made by another JVM) the flags fall back to a normal start
(-Xshare:auto); the tests then only run slower.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# C1 only, one GC thread: a short JVM's CPU halves. C1 alone reserves a 48 MB code cache, which a long JVM
# (a test process's shared session, a DAG task) fills in ~100 s; the JIT then stops and the rest runs
# interpreted ("CodeCache is full. Compiler has been disabled."): 240 MB, what tiered compilation reserves.
JIT = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=240m"


@functools.cache
def _jars() -> tuple[str, ...]:
    """The project's jars (Delta), where the local profile's spark.jars takes them from."""
    from pipelines.common import config
    from pipelines.common.spark import project_jars

    return tuple(project_jars(config.load("local").settings))


@functools.cache
def archive_path() -> Path:
    """Where the archive of this JVM and these jars lives (computed once per process; it may not exist)."""
    import pyspark

    java = shutil.which("java") or "java"
    real = os.path.realpath(java)
    spark_jars = sorted(os.listdir(Path(pyspark.__file__).parent / "jars"))
    key = "\n".join([real, str(os.path.getmtime(real)) if os.path.exists(real) else "", *spark_jars, *_jars()])
    return ROOT / ".state" / "jvm" / f"spark-{hashlib.sha1(key.encode()).hexdigest()[:12]}.jsa"


def java_options() -> str:
    """The local profile's JVM flags in tests: C1 and the serial GC, the archive where it exists, and
    no re-verification of the project's own class path (the archive's classes are verified once)."""
    archive = archive_path()
    share = (
        f" -XX:SharedArchiveFile={archive} -Xlog:cds=off -Xlog:cds+dynamic=off"
        " -XX:+UnlockDiagnosticVMOptions -XX:-BytecodeVerificationRemote"
        if archive.exists()
        else ""
    )
    return f"{JIT}{share}"


def class_path_sets() -> list[str]:
    """--set entries that put Delta's jars on the local driver's class path (so the archive holds them)."""
    return [f"spark.profiles.local.conf.spark.driver.extraClassPath={':'.join(_jars())}"]


def make() -> Path:
    """Make the archive from one tiny generate job, unless it exists (atomic: a temporary name, renamed)."""
    from tests.conftest import test_overrides

    archive = archive_path()
    if archive.exists():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    for stale in archive.parent.glob("spark-*.jsa*"):
        stale.unlink()
    partial = archive.with_suffix(f".jsa.{os.getpid()}")
    with tempfile.TemporaryDirectory() as state:
        sets = [
            *test_overrides(Path(state), archive=False),
            f"spark.profiles.local.java_options={JIT} -XX:ArchiveClassesAtExit={partial}",
            "synth.write_tsv=true",
        ]
        argv = [sys.executable, "-m", "jobs", "generate", "--ds", "2026-11-01"]
        done = subprocess.run(
            [*argv, *[a for s in sets for a in ("--set", s)]], cwd=ROOT, capture_output=True, text=True
        )
    if done.returncode != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        print(f"tests.jvm_archive: no archive made (the tests run without it): {done.stderr[-1500:]}")
        return archive
    partial.rename(archive)
    return archive


if __name__ == "__main__":
    print(f"JVM class-data archive for the tests: {make()}")
