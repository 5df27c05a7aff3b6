"""Generated kernels (composite and tied models) are written to real modules, so numba caches them across
processes; with no writable cache directory they compile for the process, with the same results."""

import os
import subprocess
import sys

import numpy as np

import lsq
from lsq import _generated

X = np.linspace(-3, 3, 80)
Y = (lsq.models.gaussian(X, 2.0, -1.0, 0.5, 0.0) + lsq.models.gaussian(X, 1.0, 1.2, 0.5, 0.1)
     + 0.02 * np.random.default_rng(1).standard_normal(80))
TIE = {"p2_sigma": "p1_sigma"}


def _doublet():
    g = lsq.models.gaussian
    return g(prefix="p1_") + g(prefix="p2_") + lsq.models.linear()


PROBE = """
import numba.core.event as ev, numpy as np, lsq
compiled = []
class L(ev.Listener):
    def on_start(self, e): compiled.append(e.data["dispatcher"].py_func.__module__)
    def on_end(self, e): pass
ev.register("numba:compile", L())
g = lsq.models.gaussian
x = np.linspace(-3, 3, 80)
y = g(x, 2.0, -1.0, 0.5, 0.0) + g(x, 1.0, 1.2, 0.5, 0.1)
r = lsq.fit(g(prefix="p1_") + g(prefix="p2_") + lsq.models.linear(), x, y, tie={"p2_sigma": "p1_sigma"})
print(sum(m.startswith(("lsq", "lsq_gen")) for m in compiled), " ".join(v.hex() for v in r.values))
"""


def test_composite_and_tie_kernels_load_from_the_cache_in_a_new_process(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    n_first, bits_first = first.stdout.split(maxsplit=1)
    n_second, bits_second = second.stdout.split(maxsplit=1)
    assert int(n_first) > 0  # this cache started empty
    assert int(n_second) == 0  # the composite's and the tie's kernels too came from the cache
    assert bits_second == bits_first
    assert len(list((tmp_path / "lsq_generated").glob("lsq_gen_*.py"))) == 2  # the composite and the tie


def test_generated_kernels_give_the_bits_of_the_per_process_ones(monkeypatch):
    cached = lsq.fit(_doublet(), X, Y, tie=TIE)
    monkeypatch.setattr(_generated, "generated_module", lambda *a: None)  # as with no writable cache directory
    model = _doublet()
    assert model._generated(1) is None
    per_process = lsq.fit(model, X, Y, tie=TIE)
    np.testing.assert_array_equal(cached.values, per_process.values)
    np.testing.assert_array_equal(cached.stderr, per_process.stderr)


@lsq.model
def _bump(x, a, c):
    return a * np.exp(-((x - c) ** 2))


def test_a_users_part_compiles_for_the_process():
    model = _bump + lsq.models.linear()
    assert model._generated(1) is None  # a user's function may live in a script or a notebook
    y = _bump(X, 1.5, 0.2) + 0.3 * X + 0.1
    r = lsq.fit(model, X, y, p0=[1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(r.values, [1.5, 0.2, 0.3, 0.1], atol=1e-8)


def test_no_writable_cache_directory_means_no_module(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setattr(_generated.numba.config, "CACHE_DIR", str(blocker / "cache"))  # under a file: mkdir fails
    assert _generated.generated_module(["import math"], "def one():\n    return math.cos(0.0)\n", "test") is None
    monkeypatch.setattr(_generated.numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    module = _generated.generated_module(["import math"], "def one():\n    return math.cos(0.0)\n", "test")
    assert module.one() == 1.0 and module.__file__.startswith(str(tmp_path / "cache" / "lsq_generated"))
