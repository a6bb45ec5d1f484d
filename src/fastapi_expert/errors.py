"""The tool's own errors.

    FastAPIExpertError
    ├── UsageError     bad command-line input (exit 2)
    ├── ConfigError    bad [tool.fastapi-expert] configuration (exit 2)
    └── WriteError     a file the command must write cannot be written (exit 2)
"""

from __future__ import annotations


class FastAPIExpertError(Exception):
    """Base class of every error the tool raises on purpose."""


class UsageError(FastAPIExpertError):
    """The command line asked for something that cannot be done."""


class ConfigError(FastAPIExpertError):
    """The configuration names an unknown key or holds a value of the wrong shape."""


class WriteError(FastAPIExpertError):
    """A report (`--output-file`) or a fixed file could not be written.

    Exit 2, not a traceback: Python's own exit status for an uncaught exception
    is 1, which CI reads as "findings"."""
