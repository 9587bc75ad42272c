"""brief.json is strict JSON: a missing number (NaN) is written as null, never as NaN."""

import json
import math

from kalkan.report.brief import json_safe


def test_missing_numbers_become_null_and_the_rest_is_kept() -> None:
    data = {"high": math.nan, "low": 47, "rows": [{"p": math.inf}, (1.5, -math.inf)], "text": "a"}
    safe = json_safe(data)
    assert safe == {"high": None, "low": 47, "rows": [{"p": None}, [1.5, None]], "text": "a"}
    json.dumps(safe, allow_nan=False)  # raises ValueError if any NaN were left
