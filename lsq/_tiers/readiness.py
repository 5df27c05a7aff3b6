"""Which compile paths have their kernels in numba's disk cache, and the one background compile per environment.

A path (a name of :data:`lsq.compile.PATHS`) is *ready* once a process compiled it: ``<dir>/ready/<path>`` then
exists, where ``<dir>`` is keyed to everything numba's cache is keyed to (lsq's sources and where they live,
numba's version, the CPU) under ``NUMBA_CACHE_DIR`` or the user's cache directory. A process that wants a path
compiled writes ``<dir>/wanted/<path>`` and starts ``python -m lsq._tiers.background``; the background process
takes ``<dir>/compile.lock`` (``flock``), so however many processes start together, one compiles, and it
compiles every wanted path before it lets go.
"""

import fcntl
import functools
import hashlib
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numba

__all__ = ["PATHS_DIR_ENV", "directory", "is_ready", "mark_ready", "request", "status", "wait"]

PATHS_DIR_ENV = "LSQ_TIER_DIR"
"""Overrides the directory of the markers and the lock (tests give each run its own)."""

READY = set()
"""Paths known ready in this process (compiled here, or a marker seen)."""


@functools.lru_cache(maxsize=1)
def _key():
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    h.update(str(package).encode())
    h.update(numba.__version__.encode())
    h.update(sys.version.encode())
    from llvmlite import binding

    cpu = os.environ.get("NUMBA_CPU_NAME") or binding.get_host_cpu_name()
    features = os.environ.get("NUMBA_CPU_FEATURES") or ("" if "NUMBA_CPU_NAME" in os.environ
                                                        else binding.get_host_cpu_features().flatten())
    h.update(cpu.encode())
    h.update(features.encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def directory():
    """The markers' directory for this environment, or None (with one warning) when it cannot be written."""
    given = os.environ.get(PATHS_DIR_ENV)
    if given:
        base = Path(given)
    else:
        base = Path(numba.config.CACHE_DIR or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "lsq"))
        base = base / "lsq_tiers" / _key()
    try:
        for sub in ("ready", "wanted"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        if not os.access(base, os.W_OK):
            raise OSError(f"{base} is read-only")
    except OSError as exc:
        warnings.warn(f"lsq: cannot write its compile markers ({exc}); small fits run interpreted and nothing is "
                      "compiled in the background. Set NUMBA_CACHE_DIR to a writable directory.", RuntimeWarning,
                      stacklevel=3)
        return None
    return base


_LOOKED = {}
"""Path -> when its marker was last looked for and not found (looked for again after :data:`LOOK_EVERY`)."""
LOOK_EVERY = 0.5
"""Seconds between looks for a missing marker: a call costs a dictionary lookup, not a file system call, and
a path the background compile has finished is taken up within half a second."""


def is_ready(path):
    """Whether the kernels of ``path`` are in the disk cache (or compiled in this process)."""
    if path in READY:
        return True
    now = time.monotonic()
    if now - _LOOKED.get(path, -LOOK_EVERY) < LOOK_EVERY:
        return False
    d = directory()
    if d is not None and (d / "ready" / path).exists():
        READY.add(path)
        return True
    _LOOKED[path] = now
    return False


def mark_ready(path):
    """Record that ``path`` compiled (this process, and every later one)."""
    if path in READY:
        return
    READY.add(path)
    d = directory()
    if d is not None:
        try:
            (d / "ready" / path).touch()
        except OSError:
            pass


_STARTED = set()
_CHILDREN = []
"""Background processes this process started (:func:`wait` waits for them too)."""


def request(path):
    """Ask for ``path`` to be compiled in the background; start the background process if none runs."""
    d = directory()
    if d is None or path in _STARTED:
        return
    _STARTED.add(path)
    try:
        (d / "wanted" / path).touch()
    except OSError:
        return
    if _lock_held(d):
        return  # the running compiler reads the wanted list again before it lets go of the lock
    env = dict(os.environ, LSQ_TIER="compiled", LSQ_COMPILE="never", **{PATHS_DIR_ENV: str(d)})
    child = subprocess.Popen([sys.executable, "-m", "lsq._tiers.background"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                             close_fds=True)
    _CHILDREN.append(child)
    try:  # so that any process of this environment can wait for it (:func:`wait`)
        (d / "children").mkdir(exist_ok=True)
        (d / "children" / str(child.pid)).touch()
    except OSError:
        pass


def _children_alive(d):
    """Whether a background process started by any process of this environment still runs."""
    alive = False
    folder = d / "children"
    for entry in folder.iterdir() if folder.exists() else ():
        try:
            os.kill(int(entry.name), 0)
            alive = True
        except (ProcessLookupError, ValueError):
            entry.unlink(missing_ok=True)
        except PermissionError:
            alive = True
    return alive


def _lock_held(d):
    with open(d / "compile.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def status():
    """``{path: 'cached' | 'compiling' | 'missing'}`` for every path of :data:`lsq.compile.PATHS`."""
    from ..compile import PATHS

    d = directory()
    busy = d is not None and _lock_held(d)
    out = {}
    for path in PATHS:
        if d is not None and (d / "ready" / path).exists():
            out[path] = "cached"
        elif busy and (d / "wanted" / path).exists():
            out[path] = "compiling"
        else:
            out[path] = "missing"
    return out


def wait(timeout=None):
    """Block until no background compile runs in this environment (or ``timeout`` seconds pass); returns True
    when none runs."""
    d = directory()
    if d is None:
        return True
    end = None if timeout is None else time.monotonic() + timeout
    while _lock_held(d) or any(child.poll() is None for child in _CHILDREN) or _children_alive(d):
        if end is not None and time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True
