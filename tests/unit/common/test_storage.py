"""pipelines.common.storage: round trips and atomic writes on the local filesystem and, through the same
pyarrow PyFileSystem(FSSpecHandler) adapter that WebHDFS uses, on fsspec's in-memory filesystem; the
hdfs:// -> WebHDFS mapping; and that no other module of pipelines/, jobs/ or operators/ touches files
with os / open / shutil."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest
from pyarrow import fs as pafs

from pipelines.common import storage
from pipelines.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["local", "memory"])
def base(request, tmp_path):
    """A fresh directory location on each filesystem kind."""
    if request.param == "local":
        yield str(tmp_path / "d")
        return
    uri = f"memory://ctrflow-test-{uuid.uuid4().hex[:8]}"
    yield uri
    storage.remove_tree(uri)


def _names(base: str) -> list[str]:
    fs, path = storage.filesystem(base)
    return sorted(
        i.path[len(path.rstrip("/")) + 1 :] for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
    )


def test_round_trips(base):
    storage.write_bytes(f"{base}/a/b/x.bin", b"\x00\x01")
    storage.write_text(f"{base}/t.txt", "héllo")
    storage.write_json(f"{base}/j.json", {"k": [1, 2.5, None]})
    assert storage.read_bytes(f"{base}/a/b/x.bin") == b"\x00\x01"
    assert storage.read_text(f"{base}/t.txt") == "héllo"
    assert storage.read_json(f"{base}/j.json") == {"k": [1, 2.5, None]}
    assert storage.is_dir(f"{base}/a/b") and not storage.is_dir(f"{base}/t.txt")
    assert storage.exists(f"{base}/t.txt") and not storage.exists(f"{base}/nope")

    storage.write_text(f"{base}/t.txt", "second")  # replaces the file
    assert storage.read_text(f"{base}/t.txt") == "second"
    assert _names(base) == ["a", "a/b", "a/b/x.bin", "j.json", "t.txt"]  # no temporary file left

    storage.remove(f"{base}/t.txt")
    storage.remove(f"{base}/t.txt")  # none there: nothing to do
    storage.remove_tree(f"{base}/a")
    storage.remove_tree(f"{base}/a")
    assert _names(base) == ["j.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(base):
    storage.write_text(f"{base}/champion.json", "old")
    with pytest.raises(TypeError):
        storage.write_bytes(f"{base}/champion.json", object())  # fails once the temporary file is open
    assert storage.read_text(f"{base}/champion.json") == "old"
    assert _names(base) == ["champion.json"]


def test_copy_tree_publishes_and_replaces_a_directory(base, tmp_path):
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "w.pt").write_bytes(b"one")
    (src / "model.json").write_text("{}")
    storage.copy_tree(str(src), f"{base}/staged/model")
    assert _names(f"{base}/staged") == ["model", "model/model.json", "model/sub", "model/sub/w.pt"]

    (src / "sub" / "w.pt").write_bytes(b"two")
    (src / "model.json").unlink()
    storage.copy_tree(str(src), f"{base}/staged/model")  # replaced whole, not merged
    assert _names(f"{base}/staged") == ["model", "model/sub", "model/sub/w.pt"]
    assert storage.read_bytes(f"{base}/staged/model/sub/w.pt") == b"two"

    storage.copy_tree(f"{base}/staged/model", f"{base}/copy")  # from any location, not only a local one
    assert storage.read_bytes(f"{base}/copy/sub/w.pt") == b"two"


def test_locations_resolve_to_their_filesystem(tmp_path):
    local = str(tmp_path / "x y")
    assert storage.filesystem(local) == (storage._LOCAL, local)
    assert storage.filesystem("file:///tmp/x%20y") == (storage._LOCAL, "/tmp/x y")  # as Spark lists files
    assert storage.filesystem("file:/tmp/x")[1] == "/tmp/x"
    fs, path = storage.filesystem("memory://bucket/a/b")
    assert isinstance(fs, pafs.PyFileSystem) and path == "/bucket/a/b"
    assert storage.filesystem("memory:///bucket/a/b")[1] == "/bucket/a/b"
    assert storage.filesystem("memory://bucket/c")[0] is fs  # cached per scheme and authority


def test_webhdfs_target_keeps_the_path_and_takes_the_http_address():
    assert storage.webhdfs_target("hdfs://nn.example:8020/user/ctr/x%20y", "nn.example:9870") == (
        "nn.example",
        9870,
        "/user/ctr/x y",
    )
    assert storage.webhdfs_target("hdfs://127.0.0.1:9000/a", "9870") == ("127.0.0.1", 9870, "/a")
    assert storage.webhdfs_target("hdfs:///a/b", "gateway:14000") == ("gateway", 14000, "/a/b")
    assert storage.webhdfs_target("hdfs://nn:8020", "9870")[2] == "/"
    with pytest.raises(ConfigError, match="names no host"):
        storage.webhdfs_target("hdfs:///a", "9870")
    with pytest.raises(ConfigError, match="host:port"):
        storage.webhdfs_target("hdfs://nn:8020/a", "nn")


def test_hdfs_goes_through_webhdfs_when_it_is_configured(monkeypatch):
    monkeypatch.setattr(storage, "_CACHE", {})
    monkeypatch.setenv(storage.WEBHDFS_ENV, "9870")
    monkeypatch.setenv("HADOOP_USER_NAME", "ctrflow")
    fs, path = storage.filesystem("hdfs://127.0.0.1:9000/state/models")
    web = fs.handler.fs  # building it sends no request
    assert path == "/state/models"
    assert web.url == "http://127.0.0.1:9870/webhdfs/v1" and web.pars["user.name"] == "ctrflow"


def test_hdfs_without_libhdfs_or_webhdfs_is_a_one_line_config_error(monkeypatch):
    monkeypatch.setattr(storage, "_CACHE", {})
    monkeypatch.delenv(storage.WEBHDFS_ENV, raising=False)
    try:
        storage.filesystem("hdfs://127.0.0.1:9000/x")
    except ConfigError as e:
        assert storage.WEBHDFS_ENV in str(e) and "\n" not in str(e)
    else:
        pytest.skip("libhdfs loads on this machine")


# -- nothing else touches files ------------------------------------------------------------------------
_FILE_CALLS = {"open", "os.makedirs", "os.replace", "os.rename", "os.remove", "os.unlink", "os.listdir"}
_FILE_CALLS |= {"os.scandir", "os.walk", "os.path.exists", "os.path.isdir", "os.path.isfile"}
# kept on purpose (file -> the calls it may make)
ALLOWED = {
    "pipelines/common/storage.py": None,  # the storage layer itself: anything
    # the Derby metastore's lock and the local state-dir check, before the JVM starts (local only)
    "pipelines/common/spark.py": {"os.makedirs", "os.path.exists", "os.path.isdir"},
    "pipelines/ingest/files.py": {"os.listdir"},  # the OS's own listing, compared with Hadoop's on purpose
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def file_calls(source: str) -> list[tuple[str, int]]:
    """(os / open / shutil call or import, line) in Python source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in _FILE_CALLS or name.startswith("shutil."):
                found.append((name, node.lineno))
        elif isinstance(node, ast.Import) and any(a.name == "shutil" for a in node.names):
            found.append(("import shutil", node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "os.path", "shutil"):
            found.append((f"from {node.module} import", node.lineno))  # would hide the calls from this test
    return found


def test_the_file_call_finder_finds_them():
    source = "import shutil\nopen('x')\nos.replace(a, b)\nos.path.isdir(p)\nfs.open(p)\nshutil.rmtree(d)\n"
    assert sorted(file_calls(source), key=lambda c: c[1]) == [
        ("import shutil", 1),
        ("open", 2),
        ("os.replace", 3),
        ("os.path.isdir", 4),
        ("shutil.rmtree", 6),
    ]


def test_only_storage_touches_files():
    problems = []
    for top in ("pipelines", "jobs", "operators"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            allowed = ALLOWED.get(rel, set())
            if allowed is None:
                continue
            problems += [f"{rel}:{line} {call}" for call, line in file_calls(path.read_text()) if call not in allowed]
    assert not problems, "files outside Spark tables go through pipelines.common.storage:\n" + "\n".join(problems)
