"""The two lines a ctrflow job (or `ctrflow` command, or probe) prints for whoever runs it: the Airflow
hook, a shell script, CI. Defined here once; the harness writes them, the hook reads them.

- success: `ctrflow: result {json}` on stderr, printed whatever --log-level says (a job run at WARNING
  level still hands its result to the next task);
- failure: `ctrflow <prog>: error: <one line>` on stderr, with the exit code of its class
  (pipelines.core.errors).
"""

from __future__ import annotations

import json
import re
import sys

_RESULT = re.compile(r"\bctrflow: result (\{.*\})\s*$")
_ERROR = re.compile(r"^ctrflow(?: [\w.-]+)*: error: \S.*$")


def result_line(result: dict) -> str:
    return f"ctrflow: result {json.dumps(result or {}, default=str, sort_keys=True)}"


def error_line(prog: str, message: str) -> str:
    """`<prog>: error: <message>` with the message folded onto one line (never blank)."""
    folded = "; ".join(ln.strip() for ln in str(message).strip().splitlines() if ln.strip())
    return f"{prog}: error: {folded or 'unknown error'}"


def print_result(result: dict) -> None:
    print(result_line(result), file=sys.stderr, flush=True)


def print_error(prog: str, message: str) -> None:
    print(error_line(prog, message), file=sys.stderr, flush=True)


def parse_result(line: str) -> dict | None:
    """The result of a result line (a log prefix before it is allowed), None for any other line. A line
    that looks like one but holds no JSON object raises ValueError."""
    m = _RESULT.search(line.strip())
    if not m:
        return None
    value = json.loads(m.group(1))
    if not isinstance(value, dict):
        raise ValueError("a result line must hold a JSON object")
    return value


def is_error_line(line: str) -> bool:
    return bool(_ERROR.match(line.strip()))
