"""Suite-wide test settings.

On CI (the ``CI`` environment variable is set) Hypothesis reports a failing example without shrinking it:
a failure is a failure, and shrinking a slow example once took over five minutes of CI time.
"""

from __future__ import annotations

import os

from hypothesis import Phase, settings

settings.register_profile(
    "ci", deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target], print_blob=True
)
if os.environ.get("CI"):
    settings.load_profile("ci")
