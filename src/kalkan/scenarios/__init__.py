"""Embedded scenarios: the places, people at risk, incidents, figures and sources a plan starts from.

``load_scenario("kyrgyzstan_2010")`` returns a :class:`Scenario` of typed tables; ``list_scenarios()``
names the shipped ones; ``check_scenario(folder)`` lists a folder's problems and placeholders. A folder of
your own with the same files loads the same way (the format: docs/scenarios.md).
``scenario.as_of_view(day)`` cuts a scenario to what was known on a day.
"""

from kalkan.scenarios._incidents import parse_incident_date
from kalkan.scenarios._loader import (
    DEFAULT_SCENARIO,
    PLACEHOLDER,
    CheckReport,
    check_scenario,
    list_scenarios,
    load_scenario,
)
from kalkan.scenarios._scenario import (
    Ask,
    AsOf,
    Census,
    KnownLater,
    Mandate,
    Option,
    Request,
    Scenario,
    Simulation,
    Target,
)

__all__ = [
    "AsOf",
    "Ask",
    "Census",
    "CheckReport",
    "DEFAULT_SCENARIO",
    "KnownLater",
    "Mandate",
    "Option",
    "PLACEHOLDER",
    "Request",
    "Scenario",
    "Simulation",
    "Target",
    "check_scenario",
    "list_scenarios",
    "load_scenario",
    "parse_incident_date",
]
