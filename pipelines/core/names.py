"""Names that reach SQL, table names and paths, the one rule they follow, and secret-looking keys.

A name (database, table, column, model, source, pipeline, overlay) is letters, digits and `_`; a table
may be `database.table`. Quotes, backticks, `;`, spaces, `..` and `/` are refused wherever a name enters
(config validation, job options, run conf), so SQL is only ever built from checked identifiers and values
go in as quoted literals (`sql_literal`). Config fields declare the rule in their type: `Name`,
`TableName` (pipelines.common.schema applies it with the key path and file in the error).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

_NAME = re.compile(r"[A-Za-z0-9_]+")
_TABLE = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?")
NAME_RULE = "letters, digits and _ only"
TABLE_RULE = "name or database.name, letters, digits and _ only"


def check_name(value: str) -> str:
    """`value` if it is a name, else ValueError saying why (no quoting is ever attempted)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid name ({NAME_RULE})")
    return value


def check_table(value: str) -> str:
    """`value` if it is `table` or `database.table`, else ValueError."""
    if not isinstance(value, str) or not _TABLE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid table name ({TABLE_RULE})")
    return value


# Type annotations for config dataclasses: schema.build checks the str, then the rule.
Name = Annotated[str, check_name]
TableName = Annotated[str, check_table]


def quote_ident(name: str) -> str:
    """A checked table or column name quoted for Spark SQL: `db`.`table`."""
    return ".".join(f"`{part}`" for part in check_table(name).split("."))


def sql_literal(value: str) -> str:
    """A string value as a Spark SQL literal: quotes and backslashes escaped."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def plain_path_parts(path: str) -> list[str]:
    """The segments of a relative path that must stay under its root: no absolute path, no `..`."""
    parts = path.split("/")
    if path.startswith("/") or ".." in parts:
        raise ValueError(f"{path!r} must stay under its root (no leading '/', no '..' segments)")
    return parts


# Keys whose values are secrets: anything with secret/password/token/credential, a private key, and a
# `key` segment (fs.azure.account.key.<account>, fs.s3a.access.key).
_SECRET = re.compile(
    r"secret|passw(or)?d|token|credential|private[._-]?key|(^|[._-])key($|[._-])|apikey", re.IGNORECASE
)
MASK = "***"


def is_secret_key(key: str) -> bool:
    return bool(_SECRET.search(key))


def mask_secrets(tree: Any, path: str = "") -> Any:
    """A copy of a plain config tree with the values of secret-looking keys replaced by `***`."""
    if isinstance(tree, Mapping):
        out = {}
        for k, v in tree.items():
            sub = f"{path}.{k}" if path else str(k)
            out[k] = MASK if is_secret_key(str(k)) and not isinstance(v, Mapping) else mask_secrets(v, sub)
        return out
    if isinstance(tree, list | tuple):
        return [mask_secrets(v, path) for v in tree]
    return tree


def mask_assignment(item: str) -> str:
    """`key=value` with the value masked when the key looks secret (a --set, a --conf)."""
    key, sep, value = item.partition("=")
    return f"{key}={MASK}" if sep and value and is_secret_key(key) else item
