"""User-facing errors: the harness prints them as one line and exits non-zero, without a traceback."""

from __future__ import annotations

import os


def debug_from_env() -> bool:
    """CTRFLOW_DEBUG set (not empty, 0 or false): tracebacks and Spark's task errors are shown, like --debug."""
    return os.environ.get("CTRFLOW_DEBUG", "") not in ("", "0", "false")


class CtrflowError(Exception):
    """A problem the user can fix (bad input, bad config, missing data), not a bug in ctrflow."""

    exit_code = 1


class ConfigError(CtrflowError):
    """Invalid configuration or arguments; the message names the file and the key path."""

    exit_code = 2


class DataError(CtrflowError):
    """Input data that breaks a contract: names the table/path, the partition and what is wrong."""

    exit_code = 1


class GateRefused(CtrflowError):
    """A quality gate held the result back (a model not published, a day not passed on): not a failure of
    the input or of ctrflow, but the run must not count as a success."""

    exit_code = 3


# Exit codes by error class, as the harness, `ctrflow` and the Airflow operators report them.
EXIT_CODES = {"ok": 0, "runtime": 1, "user/config": 2, "gate refusal": 3}

# Wrapper messages that say nothing of the cause; one_line looks past them.
_WRAPPERS = (
    "Job aborted due to stage failure",
    "An error occurred while calling",
    "Writing job aborted",
    "Job aborted.",
    "[TASK_WRITE_FAILED]",
)


def _java_chain(throwable) -> list[str]:
    """'Class: first message line' of a Java exception and its causes, outermost first."""
    out, seen = [], 0
    while throwable is not None and seen < 20:
        message = (throwable.getMessage() or "").strip().splitlines()
        name = throwable.getClass().getName()
        out.append(f"{name}: {message[0].strip()}" if message else name)
        throwable, seen = throwable.getCause(), seen + 1
    return out


def one_line(exc: BaseException) -> str:
    """One line that says what went wrong in an unexpected exception: for a Spark failure the condition
    and the file or table it names plus the root cause, for a Python worker failure the worker's own
    last line, for anything else the exception type and its first line. No stack trace."""
    chain: list[str] = []
    origin = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    if origin is not None:
        try:
            chain = _java_chain(origin)
        except Exception:  # a dead JVM: fall back on the Python side's text
            chain = []
    text = str(exc).split("JVM stacktrace:")[0].strip()
    if type(exc).__name__ == "PythonException" or "Traceback (most recent call last)" in text:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return f"in a Python worker: {lines[-1]}" if lines else "in a Python worker"
    if chain:
        useful = [c for c in chain if not any(w in c for w in _WRAPPERS)] or chain
        head, root = useful[0], chain[-1]
        return head if root == head or root in head else f"{head} (caused by {root})"
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
