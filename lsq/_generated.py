"""Generated kernels as real modules, so numba caches them across processes.

Composite and tied models build the source of their kernels at run time. Numba caches a function only when
its source lives in a file with a stable path, and only when it calls nothing by a process-local address; so
the source of a model whose parts are all importable (built-ins, and composites and ties of them) is written
once to ``<cache>/lsq_generated/lsq_gen_<hash>.py``, with imports of the parts' kernels, and imported from
there. The hash covers the source, lsq's version and the files the parts' kernels come from, so a change of
any of them gives a new module rather than a stale cache entry. ``<cache>`` is ``NUMBA_CACHE_DIR`` when set,
else the user's cache directory (``$XDG_CACHE_HOME/lsq``, default ``~/.cache/lsq``); when it cannot be
written, the models compile as before, for this process only.
"""

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

import numba

__all__ = ["generated_module", "kernel_import", "part_imports"]


def _directory():
    base = numba.config.CACHE_DIR or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "lsq")
    path = Path(base) / "lsq_generated"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _file_digest(module_name):
    module = sys.modules[module_name]
    path = getattr(module, "__file__", None)
    if path is None:
        return module_name
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def kernel_import(func, alias):
    """``from MODULE import NAME as alias`` for the module-level function ``func``, or None when it is not
    importable by name (defined in ``__main__``, a notebook or a closure)."""
    module, name = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
    if not module or module == "__main__" or "<" in name or "." in name or module not in sys.modules:
        return None
    if getattr(sys.modules[module], name, None) is not func:
        return None
    return f"from {module} import {name} as {alias}"


def generated_module(imports, src, what):
    """Import the module of ``imports`` (lines) and ``src``, written to the cache directory once.

    Parameters
    ----------
    imports : list of str
        Import lines (from :func:`kernel_import`, or of other generated modules).
    src : str
        The functions' source.
    what : str
        What the module is for (its first comment line).

    Returns
    -------
    module or None
        None when the cache directory cannot be written.
    """
    from . import __version__

    sources = sorted({line.split()[1] for line in imports if line.startswith("from ")})
    stamp = " ".join(f"{m}:{_file_digest(m)}" for m in sources if m in sys.modules)
    text = (f"# lsq {__version__} generated kernel: {what}\n# parts: {stamp}\n"
            + "\n".join(imports) + "\n\n\n" + src)
    name = "lsq_gen_" + hashlib.sha256(text.encode()).hexdigest()[:24]
    if name in sys.modules:
        return sys.modules[name]
    directory = _directory()
    if directory is None:
        return None
    path = directory / f"{name}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_text(text)
            os.replace(tmp, path)  # atomic: another process may be writing the same module
        except OSError:
            return None
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def part_imports(k, refs):
    """Import lines and definitions that make the kernels ``refs`` (``(module, values, jacobian or None)``, see
    ``Model._importable_kernels``) callable in generated source as ``F{k}`` and ``J{k}``."""
    module, values, jacobian = refs
    lines = [f"from {module} import {values} as _f{k}"]
    defs = [f"F{k} = njit(error_model='numpy', cache=True)(_f{k})"]
    if jacobian is not None:
        lines.append(f"from {module} import {jacobian} as _j{k}")
        defs.append(f"J{k} = njit(error_model='numpy', cache=True)(_j{k})")
    return lines, defs
