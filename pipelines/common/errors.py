"""User-facing errors: the harness prints them as one line and exits non-zero, without a traceback."""

from __future__ import annotations


class CtrflowError(Exception):
    """A problem the user can fix (bad input, bad config, missing data), not a bug in ctrflow."""

    exit_code = 1


class ConfigError(CtrflowError):
    """Invalid configuration or arguments; the message names the file and the key path."""

    exit_code = 2


class DataError(CtrflowError):
    """Input data that breaks a contract: names the table/path, the partition and what is wrong."""

    exit_code = 1
