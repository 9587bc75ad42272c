"""kalkan: atrocity early warning and protection planning.

Risk (where and how likely is violence against civilians), plan (who is at risk, how many police,
where, how fast), simulate (what each force option changes), operate (the mission's incident
register) and report (a brief a decision maker reads in five minutes).
"""

__version__ = "0.1.0"
