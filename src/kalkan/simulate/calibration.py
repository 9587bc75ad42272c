"""Calibration of the geographic model's free parameters to the 2010 no-force outcomes.

Targets (scenario ``facts``; see ``/work/shared/data/kyrgyzstan-2010/facts.md``): about 470 deaths
(Kyrgyzstan Inquiry Commission; S_CEPS, S_BRECORDER_KIC), 1,800-2,800 buildings destroyed (UNOSAT
1,805 in Osh, S_UNOSAT1461; OCHA 1,889 compounds, S_RADIANCE_OCHA), about 400,000 displaced (UNHCR
300,000 internally plus about 100,000 to Uzbekistan, S_UNHCR_0617).

``CALIBRATED`` holds the values :func:`calibrate` found (``python -m kalkan.simulate.calibration``
reruns it and prints the new values and the fit); everything else keeps its default from
:data:`kalkan.simulate.geo.GEO_SETTINGS`.
"""

from __future__ import annotations

from typing import Any

CALIBRATED: dict[str, Any] = {}
