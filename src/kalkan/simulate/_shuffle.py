"""The shuffle both numba kernels use for random sequential activation.

Shared so that the lattice and the geographic model draw their order the same way (Fisher-Yates,
from numba's own seeded generator, which every njit function of the process shares). numba's cache
does not follow a change here into the kernels that call it: after editing this file, clear the
``__pycache__`` of ``kalkan/simulate`` (or bump a kernel file) so they are compiled again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit


@njit(cache=True)
def shuffle_first(order: npt.NDArray[np.int64], n: int) -> None:
    """Shuffle ``order[:n]`` in place (Fisher-Yates): a fresh random order of the first ``n`` slots."""
    for a in range(n - 1, 0, -1):
        b = np.random.randint(0, a + 1)
        tmp = order[a]
        order[a] = order[b]
        order[b] = tmp
