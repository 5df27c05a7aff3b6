"""Where numba's compile time goes: a listener on numba's compile events, and a fresh process to run it in.

``python -m benchmarks.compile_profile SNIPPET [--top 20]`` runs ``SNIPPET`` (a name from
:data:`lsq.compile.PATHS`, Python source or a script's path) in a new interpreter with an empty
``NUMBA_CACHE_DIR`` and prints the import time, the first call's time and the compile time of each compiled
function, excluding the functions it compiles in turn (numba compiles a callee while typing its caller),
with the compiler passes that time went to.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict


class CompileProfile:
    """Per-function compile times from numba's ``numba:compile`` events, each excluding its nested compiles."""

    def __init__(self):
        self.exclusive = defaultdict(float)
        self.count = defaultdict(int)
        self.passes = defaultdict(float)  # compiler pass -> time, excluding nested compiles
        self._stack = []  # [name, start, time in nested events]

    def install(self):
        from numba.core import event

        profile = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                if ev.kind == "numba:run_pass":
                    name = "pass:" + ev.data["name"].split(" [")[0]
                else:
                    d = ev.data["dispatcher"]
                    name = f"{d.py_func.__module__}.{d.py_func.__qualname__}"
                profile._stack.append([name, time.perf_counter(), 0.0])

            def on_end(self, ev):
                name, t0, nested = profile._stack.pop()
                dt = time.perf_counter() - t0
                if profile._stack:
                    profile._stack[-1][2] += dt
                if name.startswith("pass:"):
                    profile.passes[name[5:]] += dt - nested
                    # the pass's own time is part of its function's: only nested compiles are excluded
                    if profile._stack:
                        profile._stack[-1][2] -= dt - nested
                    return
                profile.exclusive[name] += dt - nested
                profile.count[name] += 1

        listener = _Listener()
        event.register("numba:compile", listener)
        event.register("numba:run_pass", listener)
        return self

    def rows(self):
        return sorted(((v, k, self.count[k]) for k, v in self.exclusive.items()), reverse=True)


def _child(code):
    """Run in the fresh process: time ``import lsq`` and ``code``, print the profile as JSON."""
    profile = CompileProfile().install()
    t0 = time.perf_counter()
    import lsq

    t1 = time.perf_counter()
    if os.path.isfile(code):  # a script: numba caches only functions defined in a real file
        import runpy

        runpy.run_path(code, {"lsq": lsq}, "__main__")
    else:
        exec(code, {"lsq": lsq})
    t2 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first_call": t2 - t1,
                      "functions": [[k, v, c] for v, k, c in profile.rows()],
                      "passes": sorted(profile.passes.items(), key=lambda kv: -kv[1])}))


def run_cold(code, cache_dir=None, env=None):
    """Run ``code`` (with ``lsq`` imported) in a fresh interpreter whose numba cache is ``cache_dir`` (a new
    empty directory when None); returns the child's profile dict."""
    env = dict(os.environ if env is None else env)
    env["NUMBA_CACHE_DIR"] = cache_dir or tempfile.mkdtemp(prefix="lsq_cold_")
    env["LSQ_TIER"] = "compiled"  # what is profiled is the compiler: no interpreted tier, no background compile
    env["LSQ_COMPILE"] = "never"
    src = f"from benchmarks.compile_profile import _child; _child({code!r})"
    out = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True, text=True, check=False,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snippet", help="a name from lsq.compile.PATHS, Python source or a script's path (lsq is imported)")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--cache-dir", default=None, help="reuse this numba cache (default: a new empty one)")
    a = ap.parse_args(argv)
    from lsq.compile import PATHS  # here, not at the top: the child process times its own `import lsq`

    res = run_cold(PATHS.get(a.snippet, a.snippet), a.cache_dir)
    funcs = res["functions"]
    total = sum(v for _, v, _ in funcs)
    print(f"import {res['import']:.2f} s, first call {res['first_call']:.2f} s; "
          f"{len(funcs)} functions compiled, {total:.1f} s in all")
    for name, v, c in funcs[: a.top]:
        print(f"{v:8.2f} s  {name}" + (f"  (x{c})" if c > 1 else ""))
    print("compiler passes (excluding nested compiles):")
    for name, v in res["passes"][:8]:
        print(f"{v:8.2f} s  {name}")


if __name__ == "__main__":
    main()
