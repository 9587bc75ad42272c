"""The errors kalkan raises, one tree for the whole library.

Only ``kalkan.cli`` turns them into one sentence and an exit code; library code raises them with
a message that states the fact, the numbers and the fix.

::

    KalkanError                      base class; never raised itself
    ├── InputError (ValueError)      a file, table or argument the user gave is wrong
    │   ├── ScenarioError            a scenario is unknown, or one of its files is missing or malformed
    │   │   └── ScenarioCheckError   a scenario folder has problems: one sentence each (file, row, fix)
    │   ├── SchemaError              a file lacks a required column or has the wrong format
    │   ├── OptionError              a force option or other CLI-style argument cannot be parsed
    │   ├── NotFound (LookupError)   a register record does not exist or is not open to the caller (404)
    │   └── Conflict                 a register request contradicts the stored state (409)
    ├── AccessDenied (PermissionError) the caller's role lacks the right (403)
    ├── Unauthorized                 no credentials, or wrong, expired or revoked ones (401)
    ├── TooManyAttempts              too many failed sign-ins from an address or for a user (429)
    ├── InfeasibleError (ValueError) a problem has no solution as posed (e.g. a target no force reaches)
    ├── NotFittedError (AttributeError) a model method was called before ``fit``
    ├── NotSolvedError (AttributeError) a problem's result was asked for before ``solve``
    ├── StoreError (RuntimeError)    the analytic store or register database cannot be used
    └── IntegrityError (RuntimeError) an audit chain or evidence hash does not verify
"""

from __future__ import annotations


class KalkanError(Exception):
    """Base class of every error kalkan raises on purpose."""


class InputError(KalkanError, ValueError):
    """A file, table or argument the user gave is wrong; the message says how to fix it."""


class ScenarioError(InputError):
    """A scenario name is unknown, or one of its files is missing or malformed."""


class ScenarioCheckError(ScenarioError):
    """A scenario folder has problems; ``problems`` holds one sentence per problem (file, row and fix)."""

    def __init__(self, folder: object, problems: list[str]) -> None:
        self.folder = folder
        self.problems = list(problems) or [f"Scenario folder {folder} could not be read."]
        count = len(self.problems)
        head = f"Scenario folder {folder} has {count} problem{'s' if count != 1 else ''} to fix:"
        super().__init__("\n".join([head, *(f"- {p}" for p in self.problems)]))


class SchemaError(InputError):
    """A file lacks a required column or is not in the expected format."""


class OptionError(InputError):
    """A command-line style option (e.g. ``police:600``) cannot be parsed."""


class NotFound(InputError, LookupError):
    """A register record does not exist, or the caller may not see it (the answer is the same)."""


class Conflict(InputError):
    """A register request contradicts the stored state (a status step, a reused ``client_id``)."""


class AccessDenied(KalkanError, PermissionError):
    """The caller's role lacks the right to do this."""


class Unauthorized(KalkanError):
    """No credentials, or credentials no active user holds (wrong, expired or revoked)."""


class TooManyAttempts(KalkanError):
    """Too many failed sign-ins from one address or for one user: wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InfeasibleError(KalkanError, ValueError):
    """A problem has no solution as posed (for example a coverage target no force can reach)."""


class NotFittedError(KalkanError, AttributeError):
    """A model method that needs ``fit`` was called before ``fit``."""


class NotSolvedError(KalkanError, AttributeError):
    """A problem's result was asked for before ``solve`` ran."""


class StoreError(KalkanError, RuntimeError):
    """The analytic store or the register database cannot be opened or written."""


class IntegrityError(KalkanError, RuntimeError):
    """An audit chain or an evidence hash does not verify."""
