"""The suite runs on the tier the environment names (``LSQ_TIER``; compiled unless CI's interpreted pass sets it)
and never starts a background compile of its own: tests of the background compile start it explicitly, in a
directory of their own, and wait for it."""

import os

os.environ.setdefault("LSQ_TIER", "compiled")
os.environ.setdefault("LSQ_COMPILE", "never")
