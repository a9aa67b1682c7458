"""One seed for the whole study; each job's generator is derived from it and the job's name.

Deriving from a name rather than from an execution order makes every job's random
stream independent of how many jobs run at once, or in which order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the ``names`` that identify a job."""
    words = [int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little") for name in names]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))
