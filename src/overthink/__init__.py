"""overthink: find where more thinking makes a reasoning model worse.

The Python API (docs/api.md) is `overthink.run`, `resume`, `check`, `analyze`, `write_report` and `load`. They
live in overthink/api.py and are imported on first use (module `__getattr__`), so `import overthink` and the
command line's start stay light: the sweep, the store and pandas load only when one of them is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

__all__ = ["__version__", "run", "resume", "check", "analyze", "write_report", "load", "Run", "RunResult",
           "ControlNotHonoured", "Interrupted"]
_API = frozenset(__all__[1:])

if TYPE_CHECKING:
    from .api import (
        ControlNotHonoured,
        Interrupted,
        Run,
        RunResult,
        analyze,
        check,
        load,
        resume,
        run,
        write_report,
    )


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'overthink' has no attribute {name!r}")
