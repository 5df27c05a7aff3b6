"""Runs the property-based fuzzing of the public API (``fuzz_api.py``, 4 x 600 examples) in a child process, so
that a crash of compiled code (an abort or a segfault) fails this test instead of ending the test run."""

import subprocess
import sys
from pathlib import Path


def test_fuzzing_the_public_api_never_crashes():
    here = Path(__file__).parent
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(here / "fuzz_api.py")],
                         capture_output=True, text=True, timeout=1200, cwd=here.parent)
    assert out.returncode == 0, (out.returncode, out.stdout[-4000:], out.stderr[-2000:])
    assert "4 passed" in out.stdout
