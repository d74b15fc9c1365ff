"""Accounting of the files under a file source's day path: every file is read, or reported as skipped with
the reason.

What Spark reads is what its file index lists (`DataFrame.inputFiles()`: names, no data). The day path is
walked with the Hadoop FileSystem (names only) and each file Spark does not read is reported: a commit
marker (`_SUCCESS`), a checksum file (`.x.crc`), another name Spark's hidden-file rule leaves out (it
starts with '_' or '.'), a file being copied, or a file in a subdirectory Spark does not read (it reads
the day directory's own files and `key=value` partition directories). A hidden directory is reported
once, as `name/`, and not walked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from pipelines.common.tables import hadoop_fs
from pipelines.core.layout import has_glob

log = logging.getLogger("ctrflow.ingest")

SHOWN = 5  # skipped names kept in the job result and the catalog entry
MARKER = "marker"
CHECKSUM = "checksum file"
HIDDEN_FILE = "hidden file (name starts with '_' or '.')"
HIDDEN_DIR = "hidden directory (name starts with '_' or '.')"
COPYING = "copy in progress (name ends with '._COPYING_')"
SUBDIR = "subdirectory not read"
NOT_READ = "not read by Spark"
UNREADABLE = "unreadable (a broken link, or a file that cannot be opened)"


@dataclass(frozen=True)
class FileAccount:
    """The files of a day path: how many are read, and (path relative to the day path, reason) of the rest."""

    read: int
    skipped: list[tuple[str, str]]

    def summary(self) -> dict:
        """What the job result and the catalog entry keep: the count and the first few, with reasons."""
        return {"count": len(self.skipped), "first": [{"path": p, "reason": r} for p, r in self.skipped[:SHOWN]]}


def _hidden(name: str) -> bool:
    """Spark's rule (InMemoryFileIndex.shouldFilterOutPathName), less its Parquet summary-file exception."""
    return (name.startswith("_") and "=" not in name) or name.startswith(".")


def _by_name(name: str, is_dir: bool) -> str | None:
    """Why a file or directory is skipped for its name alone (None: its name does not say)."""
    if name == "_SUCCESS" or name.startswith(("_committed_", "_started_")):
        return MARKER
    if name.startswith(".") and name.endswith(".crc") and not is_dir:
        return CHECKSUM
    if _hidden(name):
        return HIDDEN_DIR if is_dir else HIDDEN_FILE
    if name.endswith("._COPYING_"):
        return COPYING
    return None


def _local_names(path: str) -> list[str]:
    """The names in a local directory, by the OS (Hadoop's local listing skips what it cannot stat)."""
    import os

    try:
        return os.listdir(path)  # not pipelines.common.storage: the OS's own view, compared with Hadoop's
    except OSError:
        return []


def _glob_base(path: str) -> str:
    """The directory a pattern's names are relative to: its leading segments without glob characters."""
    parts = path.split("/")
    n = next((i for i, part in enumerate(parts) if has_glob(part)), len(parts))
    return "/".join(parts[:n])


def _uri_path(uri: str) -> str:
    """The decoded path of a file URI as inputFiles() gives it (file:///a/b%20c -> /a/b c)."""
    return unquote(urlparse(uri).path)


def account(spark, df, patterns: list[str], base: str | None = None) -> FileAccount:
    """Read and skipped files under `patterns` (paths or Hadoop globs, hidden matches included), named
    relative to `base` (default: the first pattern's part before any glob)."""
    read_paths = {_uri_path(f) for f in df.inputFiles()}
    fs, base_path = hadoop_fs(spark, base or _glob_base(patterns[0]))
    prefix = fs.makeQualified(base_path).toUri().getPath().rstrip("/") + "/"
    read, skipped = 0, []
    local = fs.getUri().getScheme() == "file"

    def rel(st) -> str:
        path = st.getPath().toUri().getPath()
        return path[len(prefix) :] if path.startswith(prefix) else st.getPath().getName()

    def visit(st, at_root: bool, in_root_dir: bool) -> None:
        nonlocal read
        name, is_dir = st.getPath().getName(), bool(st.isDirectory())
        if is_dir:
            why = _by_name(name, True) if not at_root or _hidden(name) else None
            if why:
                skipped.append((rel(st) + "/", why))
                return
            children = sorted(fs.listStatus(st.getPath()), key=lambda c: c.getPath().getName())
            for child in children:
                visit(child, False, at_root)
            if local:  # what Hadoop's local listing drops without a word: broken links, entries it cannot stat
                listed = {c.getPath().getName() for c in children}
                here = st.getPath().toUri().getPath().rstrip("/") + "/"
                # (less the checksum files .<name>.crc it keeps beside its own files and hides on purpose)
                own_crc = {f".{n}.crc" for n in listed}
                for n in sorted(set(_local_names(here)) - listed - own_crc):
                    skipped.append(((here + n)[len(prefix) :] if (here + n).startswith(prefix) else n, UNREADABLE))
            return
        if st.getPath().toUri().getPath() in read_paths:
            read += 1
            return
        skipped.append((rel(st), _by_name(name, False) or (NOT_READ if at_root or in_root_dir else SUBDIR)))

    for pattern in patterns:
        _, p = hadoop_fs(spark, pattern)
        for st in sorted(fs.globStatus(p) or [], key=lambda s: s.getPath().toString()):
            visit(st, True, False)
    return FileAccount(read, sorted(skipped))


def skipped_text(summary: dict | None) -> str:
    """'N file(s) not read: a (reason), b (reason) and K more' of a summary (job result, catalog entry);
    '' when nothing was skipped."""
    if not summary or not summary.get("count"):
        return ""
    first = summary.get("first") or []
    shown = ", ".join(f"{f['path']} ({f['reason']})" for f in first)
    more = f" and {summary['count'] - len(first)} more" if summary["count"] > len(first) else ""
    return f"{summary['count']} file(s) not read: {shown}{more}"


def log_skipped(source: str, ds, where: str, files: FileAccount) -> None:
    """One line when files under the day path are not read (names and reasons of the first few): a
    WARNING, or INFO when they are all bookkeeping (commit markers, checksum files)."""
    if files.skipped:
        level = logging.INFO if all(r in (MARKER, CHECKSUM) for _, r in files.skipped) else logging.WARNING
        log.log(
            level,
            "source %s ds=%s: under %s, %d file(s) read, %s",
            source,
            ds,
            where,
            files.read,
            skipped_text(files.summary()),
        )
