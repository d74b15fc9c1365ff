"""ctrflow's own files (feature artifacts, reports, checkpoints, training runs, the registry, Faiss shards),
on any filesystem: every read and write of a file outside Spark tables goes through this module.

A write is atomic: the bytes go to a hidden temporary name in the same directory (`.<name>.tmp-<hex>`,
which Spark and pyarrow readers skip), then move onto the name, so a reader sees the old file or the new
one and a failed write leaves the old file as it was. `copy_tree` publishes a directory the same way
where the filesystem renames directories (local, HDFS); object stores (S3, GCS, Azure) have no rename,
but each object appears whole there, so files are written in place.

Where a location goes (`filesystem`; filesystems are cached per scheme and authority):
- a path or a file: URI: the local filesystem;
- hdfs://host:port/path: the NameNode's WebHDFS (HTTP) endpoint when $CTRFLOW_WEBHDFS is set, else
  pyarrow's HadoopFileSystem (libhdfs and a JVM in this process). CTRFLOW_WEBHDFS is `host:port` of the
  NameNode's dfs.namenode.http-address (port 9870 by default), or only the port to keep the URI's host;
  the user is $HADOOP_USER_NAME or the login name. It is an environment variable, not a conf key,
  because training workers and Spark executors open these files too and load no config: set it for them
  as well (spark.executorEnv.CTRFLOW_WEBHDFS on a cluster);
- memory://: fsspec's in-process memory filesystem, through the same adapter as WebHDFS (tests);
- anything else (s3://, gs://, abfs://): pyarrow.fs.FileSystem.from_uri; Hadoop's s3a:// is s3://.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import getpass
import json
import os
import posixpath
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

from pyarrow import fs as pafs

from pipelines.core.errors import ConfigError

WEBHDFS_ENV = "CTRFLOW_WEBHDFS"
_ALIASES = {"s3a": "s3", "s3n": "s3"}  # Hadoop's names of S3 in state_dir / registry.root
_OBJECT_STORES = {"s3", "gcs", "abfs"}  # pyarrow type names: no rename, objects appear whole
_LOCAL = pafs.LocalFileSystem()
_CACHE: dict[tuple[str, str], tuple[pafs.FileSystem, str]] = {}  # (scheme, authority) -> (fs, path prefix)


def webhdfs_target(uri: str, address: str) -> tuple[str, int, str]:
    """(host, HTTP port, path) of the WebHDFS endpoint serving an hdfs:// URI: `address` is `host:port`
    or only the port (the URI's host then); the path is the URI's path."""
    parts = urlsplit(uri)
    host, _, port = address.strip().rpartition(":")
    host = host or parts.hostname or ""
    if not port.isdigit() or not host:
        raise ConfigError(
            f"{WEBHDFS_ENV}={address!r} for {uri}: expected the NameNode's HTTP address as host:port"
            f"{'' if parts.hostname else ' (the URI names no host)'}"
        )
    return host, int(port), unquote(parts.path) or "/"


def _webhdfs(host: str, port: int) -> pafs.FileSystem:
    from fsspec.implementations.webhdfs import WebHDFS

    class _WebHDFS(WebHDFS):
        def mv(self, path1, path2, **kwargs):
            # a plain RENAME answers {"boolean": false} onto an existing file (fsspec does not look);
            # rename2 with OVERWRITE replaces it atomically and fails loudly otherwise
            self._call("RENAME", method="put", path=path1, destination=path2, renameoptions="OVERWRITE")

    user = os.environ.get("HADOOP_USER_NAME") or getpass.getuser()
    return pafs.PyFileSystem(pafs.FSSpecHandler(_WebHDFS(host, port=port, user=user)))


def _open(scheme: str, uri: str) -> tuple[pafs.FileSystem, str]:
    """(a new filesystem for the URI's scheme and authority, the prefix of its paths there)."""
    if scheme == "memory":
        from fsspec.implementations.memory import MemoryFileSystem

        return pafs.PyFileSystem(pafs.FSSpecHandler(MemoryFileSystem())), ""
    if scheme == "hdfs" and os.environ.get(WEBHDFS_ENV):
        host, port, _ = webhdfs_target(uri, os.environ[WEBHDFS_ENV])
        return _webhdfs(host, port), ""
    try:
        fs, path = pafs.FileSystem.from_uri(uri)
    except OSError as e:
        if scheme != "hdfs":
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(
            f"cannot open {uri}: libhdfs does not load here ({first}); set {WEBHDFS_ENV}=<namenode host>:<http "
            f"port> to reach HDFS through WebHDFS"
        ) from None
    url_path = unquote(urlsplit(uri).path)
    return fs, path[: len(path) - len(url_path)] if url_path and path.endswith(url_path) else path


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """(the pyarrow filesystem of a path or URI, the path on it)."""
    if "://" not in uri and not uri.startswith("file:"):
        return _LOCAL, uri
    parts = urlsplit(uri)
    scheme = _ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme == "file":
        return _LOCAL, unquote(parts.path)
    if scheme != parts.scheme:
        uri = f"{scheme}{uri[len(parts.scheme) :]}"
    key = (scheme, parts.netloc)
    if key not in _CACHE:
        _CACHE[key] = _open(scheme, uri)
    fs, prefix = _CACHE[key]
    path = unquote(parts.path)
    if scheme == "memory":  # fsspec's memory paths: memory://a/b is /a/b
        path = f"/{parts.netloc}{path}".replace("//", "/")
    return fs, f"{prefix}{path}" if prefix else path or "/"


def _is_local(fs: pafs.FileSystem) -> bool:
    return isinstance(fs, pafs.LocalFileSystem)


def _temp_name(path: str) -> str:
    parent, name = posixpath.split(path.rstrip("/"))
    return posixpath.join(parent, f".{name}.tmp-{uuid.uuid4().hex[:12]}")


def _info(uri: str) -> pafs.FileInfo:
    fs, path = filesystem(uri)
    return fs.get_file_info(path)


def exists(uri: str) -> bool:
    return _info(uri).type != pafs.FileType.NotFound


def is_dir(uri: str) -> bool:
    return _info(uri).type == pafs.FileType.Directory


def list_dirs(uri: str) -> list[str]:
    """Names of the directories directly under `uri`, sorted ([] when it does not exist)."""
    fs, path = filesystem(uri)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as f:
        return f.read()


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


def read_json(uri: str) -> Any:
    return json.loads(read_bytes(uri))


@contextlib.contextmanager
def _temporary(path: str, remove):
    """A hidden temporary name beside `path` for a write that is then moved into place; what was written
    there is removed (`remove(tmp)`) when the write fails."""
    tmp = _temp_name(path)
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(Exception):
            remove(tmp)
        raise


def write_bytes(uri: str, data: bytes) -> None:
    """Replace the file at `uri` with `data` whole (parent directories are made)."""
    fs, path = filesystem(uri)
    parent = posixpath.dirname(path)
    if fs.type_name in _OBJECT_STORES:
        with fs.open_output_stream(path) as f:
            f.write(data)
        return
    with _temporary(path, fs.delete_file) as tmp:
        if _is_local(fs):  # synced before the rename: a crash leaves the old file or the new one
            os.makedirs(parent or ".", exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            return
        if parent:
            fs.create_dir(parent, recursive=True)
        with fs.open_output_stream(tmp) as f:
            f.write(data)
        fs.move(tmp, path)


def write_text(uri: str, text: str) -> None:
    write_bytes(uri, text.encode("utf-8"))


def write_json(uri: str, doc: Any, **dumps) -> None:
    """`doc` as JSON (indent 2 unless `dumps` says otherwise; other json.dumps arguments pass through)."""
    write_text(uri, json.dumps(doc, **{"indent": 2, **dumps}))


def remove(uri: str) -> None:
    """Delete a file; nothing when there is none."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_file(path)


def remove_tree(uri: str) -> None:
    """Delete a directory and everything under it; nothing when there is none."""
    fs, path = filesystem(uri)
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_dir(path)


def copy_tree(src: str, uri: str) -> None:
    """Copy the directory `src` (a path or URI: what torch or matplotlib wrote locally, a training run's
    model) to `uri`, replacing what is there; published by one rename where the filesystem has one."""
    src_fs, src_path = filesystem(src)
    fs, dest = filesystem(uri)
    copy = functools.partial(pafs.copy_files, source_filesystem=src_fs, destination_filesystem=fs)
    if fs.type_name in _OBJECT_STORES:
        copy(src_path, dest)
        return
    with _temporary(dest, fs.delete_dir) as tmp:
        fs.create_dir(tmp, recursive=True)  # copy_files makes subdirectories only
        copy(src_path, tmp)
        if fs.get_file_info(dest).type != pafs.FileType.NotFound:
            fs.delete_dir(dest)
        fs.move(tmp, dest)


@contextlib.contextmanager
def lock(uri: str):
    """Hold an exclusive lock on the file `uri` across processes (flock: the kernel releases it when the
    process dies). Local filesystems only: elsewhere nothing is locked."""
    fs, path = filesystem(uri)
    if not _is_local(fs):
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
