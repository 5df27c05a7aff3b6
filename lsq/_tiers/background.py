"""The background compile: ``python -m lsq._tiers.background`` compiles every wanted path (see
:mod:`lsq._tiers.readiness`) at low priority, one at a time, while it holds the environment's compile lock.

Each path compiles in a fresh process (:func:`lsq.compile.compile_ahead`), which marks it ready when it
succeeds; a path that fails is marked ``failed/<path>`` with the error and not tried again by this process.
"""

import fcntl
import os
import sys

from .readiness import directory


def _pending(d):
    wanted = {p.name for p in (d / "wanted").iterdir()}
    done = {p.name for p in (d / "ready").iterdir()}
    failed = {p.name for p in (d / "failed").iterdir()} if (d / "failed").exists() else set()
    return sorted(wanted - done - failed)


def main():
    """Compile the wanted paths; return 0 (nothing to do, or another process holds the lock, is fine)."""
    from ..compile import compile_ahead

    d = directory()
    if d is None:
        return 0
    try:
        os.nice(10)
    except OSError:
        pass
    while True:
        with open(d / "compile.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # another process compiles, and reads the wanted list again before it stops
            while _pending(d):
                for path in _pending(d):
                    try:
                        compile_ahead([path], jobs=1, progress=False)
                        with open(d / "compiled.log", "a") as log:
                            log.write(f"{path} {os.getpid()}\n")
                    except RuntimeError as exc:
                        (d / "failed").mkdir(exist_ok=True)
                        (d / "failed" / path).write_text(str(exc))
        if not _pending(d):  # a path wanted while the lock was being let go
            return 0


if __name__ == "__main__":
    sys.exit(main())
