"""The lanes layout of the engine: W fits at a time in structure-of-arrays form (see :mod:`.engine`)."""
