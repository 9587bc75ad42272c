"""Embedded scenarios: the places, people at risk, incidents, figures and sources a plan starts from.

``load_scenario("kyrgyzstan_2010")`` returns a :class:`Scenario` of typed tables; ``list_scenarios()``
names the shipped ones. A folder of your own with the same files loads the same way.
"""

from kalkan.scenarios._incidents import parse_incident_date
from kalkan.scenarios._loader import DEFAULT_SCENARIO, Scenario, list_scenarios, load_scenario

__all__ = ["DEFAULT_SCENARIO", "Scenario", "list_scenarios", "load_scenario", "parse_incident_date"]
