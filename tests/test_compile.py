"""The compile-ahead command (``python -m lsq.compile``): it fills numba's cache so a fresh process loads."""

import os
import subprocess
import sys

import pytest

from lsq import compile as compile_ahead_module
from lsq.cli import main as cli_main


def test_unknown_path_is_an_error_naming_the_argument(capsys):
    assert compile_ahead_module.main(["least_squares", "no_such_path"]) == 2
    err = capsys.readouterr().err
    assert "`paths`" in err and "no_such_path" in err


def test_every_path_is_valid_python():
    for name, src in compile_ahead_module.PATHS.items():
        compile(src, name, "exec")


def test_compile_ahead_fills_the_cache_a_new_process_loads(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-m", "lsq.compile", "least_squares", "--no-progress", "-j", "1"],
                         env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "compiled 1 paths" in out.stdout
    probe = ("import numba.core.event as ev, lsq, lsq.compile\n"
             "seen = []\n"
             "class L(ev.Listener):\n"
             "    def on_start(self, e): seen.append(e.data['dispatcher'].py_func.__module__)\n"
             "    def on_end(self, e): pass\n"
             "ev.register('numba:compile', L())\n"
             "exec(lsq.compile.PATHS['least_squares'])\n"
             "print(sum(m.startswith('lsq') for m in seen))\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "0"  # every lsq kernel of the path came from the cache


def test_lsq_compile_subcommand_forwards_its_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["compile", "--help"])
    assert exc.value.code == 0
    assert "paths to compile" in capsys.readouterr().out
    assert cli_main(["compile", "no_such_path"]) == 2
