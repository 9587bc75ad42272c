"""Shared conventions of kalkan's models and problems: one copy of scikit-learn's contract.

- **Parameter rules** live in one table on the class, ``_parameter_constraints: {name: Rule}``, and
  are checked by :meth:`Params._validate_params` at the start of ``fit`` (models) or ``solve``
  (problems), never in ``__init__``. One message shape everywhere::

      The 'bandwidth' parameter of HotspotModel must be a float > 0. Got -1 instead.

- **get_params** is read from the signature of ``__init__`` (every keyword it takes is stored under
  the same name), so it cannot drift from the constructor; ``set_params`` is its inverse.
- **One fitted check**, :func:`check_is_fitted`: a method that needs ``fit`` raises
  :class:`~kalkan.errors.NotFittedError` naming ``fit`` and the method that was called.
- **One progress convention**, :class:`Progress`: absolute, ``progress(done, total)`` with
  ``0 <= done <= total``, called after each unit of work (and may be called again with the same
  ``done``). Absolute, not incremental, so a bar can be redrawn from any call and a missed call
  loses nothing. The CLI draws it with Rich through :func:`kalkan.cli.progress_bar`. A task of
  several steps names each step on a :class:`StagedProgress` (the CLI's bar is one) and counts
  each step's units from 0.

Rules are built from a few constructors (:func:`real`, :func:`integer`, :func:`choice`, :func:`flag`,
:func:`seed`, :func:`instance_of`, :func:`optional`, :func:`any_of`) so the text of every rule is
written by the same code.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np

from kalkan.errors import InputError, NotFittedError

__all__ = [
    "Params",
    "Progress",
    "Rule",
    "StagedProgress",
    "any_of",
    "check_is_fitted",
    "check_params",
    "choice",
    "describe_step",
    "flag",
    "instance_of",
    "integer",
    "no_progress",
    "optional",
    "param_message",
    "real",
    "seed",
]


# ------------------------------------------------------------------------------------ rules
@dataclass(frozen=True)
class Rule:
    """What a parameter must be: ``text`` completes "must be ..."; ``check(value)`` says whether it is."""

    text: str
    check: Callable[[Any], bool]

    def __call__(self, value: Any) -> bool:
        return bool(self.check(value))


def _is_real(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool | np.bool_) and math.isfinite(float(v))


def _is_int(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool | np.bool_)


def _bounds_text(kind: str, low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high:g}"
    return kind


def _within(v: float, low: float | None, high: float | None, low_open: bool, high_open: bool) -> bool:
    if low is not None and (v <= low if low_open else v < low):
        return False
    return not (high is not None and (v >= high if high_open else v > high))


def real(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = True,
    high_open: bool = False,
) -> Rule:
    """A finite number (int or float, not bool) within the bounds; ``low`` is open by default.

    ``real(0)`` reads "a float > 0"; ``real(0, 1, low_open=False)`` reads "a float in [0, 1]".
    """
    text = _bounds_text("a float", low, high, low_open, high_open)
    return Rule(text, lambda v: _is_real(v) and _within(float(v), low, high, low_open, high_open))


def integer(low: int | None = None, high: int | None = None) -> Rule:
    """A whole number (not bool) within the closed bounds: ``integer(1)`` reads "an int >= 1"."""
    text = _bounds_text("an int", low, high, False, False)
    return Rule(text, lambda v: _is_int(v) and _within(float(v), low, high, False, False))


def choice(*options: Any) -> Rule:
    """One of ``options``: reads "one of 'a', 'b'"."""
    return Rule("one of " + ", ".join(repr(o) for o in options), lambda v: v in options)


def flag() -> Rule:
    """A bool."""
    return Rule("a bool", lambda v: isinstance(v, bool | np.bool_))


def seed() -> Rule:
    """A random seed: None, an int >= 0 or a :class:`numpy.random.Generator`."""
    return Rule(
        "None, an int >= 0 or a numpy Generator",
        lambda v: v is None or isinstance(v, np.random.Generator) or (_is_int(v) and v >= 0),
    )


def instance_of(*types: type, text: str | None = None) -> Rule:
    """An instance of one of ``types`` (``text`` overrides the generated "a str or a Grid")."""
    words = text or " or ".join(f"a {t.__name__}" for t in types)
    return Rule(words, lambda v: isinstance(v, types))


def optional(rule: Rule) -> Rule:
    """``rule`` or None."""
    return Rule(f"{rule.text} or None", lambda v: v is None or rule(v))


def any_of(*rules: Rule) -> Rule:
    """Any one of ``rules`` (texts joined by "or")."""
    return Rule(" or ".join(r.text for r in rules), lambda v: any(r(v) for r in rules))


def param_message(owner: str, name: str, expected: str, value: Any) -> str:
    """The one message shape of a broken parameter rule."""
    return f"The '{name}' parameter of {owner} must be {expected}. Got {value!r} instead."


def check_params(obj: Any, rules: Mapping[str, Rule] | None = None) -> None:
    """Check ``obj``'s attributes against ``rules`` (default: its class's ``_parameter_constraints``).

    Raises :class:`~kalkan.errors.InputError` with :func:`param_message` for the first broken rule.
    """
    table = type(obj)._parameter_constraints if rules is None else rules
    for name, rule in table.items():
        value = getattr(obj, name)
        if not rule(value):
            raise InputError(param_message(type(obj).__name__, name, rule.text, value))


# ------------------------------------------------------------------------------------ params
class Params:
    """Mixin giving ``get_params``/``set_params`` from the ``__init__`` signature and one rule check.

    Subclasses store every ``__init__`` keyword under its own name, declare
    ``_parameter_constraints`` and call ``self._validate_params()`` first thing in ``fit``/``solve``.
    """

    _parameter_constraints: ClassVar[Mapping[str, Rule]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        """The keyword parameters of ``__init__``, in signature order (no ``*args``/``**kwargs``)."""
        init = cls.__init__
        if init is object.__init__:
            return []
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return [
            p.name
            for p in inspect.signature(init).parameters.values()
            if p.name != "self" and p.kind in kinds
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings given to ``__init__``, by name (scikit-learn contract; ``deep`` is accepted
        for compatibility and has no nested estimators to expand)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change settings by name; unknown names are an :class:`~kalkan.errors.InputError`."""
        known = self._param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InputError(
                f"{type(self).__name__} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters are {', '.join(known)}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def _validate_params(self) -> None:
        """Check the class's ``_parameter_constraints`` (call it at the start of ``fit``/``solve``)."""
        check_params(self)


# ------------------------------------------------------------------------------------ fitted
def _fitted_attributes(obj: Any) -> list[str]:
    return [k for k in vars(obj) if k.endswith("_") and not k.startswith("_")]


def check_is_fitted(
    obj: Any,
    attributes: str | Iterable[str] | None = None,
    *,
    method: str | None = None,
    fit_call: str = "'fit' with training data",
) -> None:
    """Raise :class:`~kalkan.errors.NotFittedError` unless ``obj`` has been fitted.

    Fitted means every name in ``attributes`` is set or, without ``attributes``, at least one public
    attribute ending in ``_`` exists (what ``fit`` learns). ``method`` names the caller in the message;
    ``fit_call`` says how to fit (e.g. ``"fit(events, until=...)"`` for the event models).
    """
    if attributes is None:
        fitted = bool(_fitted_attributes(obj))
    else:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(getattr(obj, n, None) is not None for n in names)
    if not fitted:
        what = f"before '{method}'" if method else "before using it"
        raise NotFittedError(f"This {type(obj).__name__} is not fitted yet: call {fit_call} {what}.")


# ------------------------------------------------------------------------------------ progress
class Progress(Protocol):
    """Progress of a long task: absolute counts, ``progress(done, total)``, ``0 <= done <= total``.

    Called after each unit of work; a final call has ``done == total``. Never incremental.
    """

    def __call__(self, done: int, total: int, /) -> None: ...


@runtime_checkable
class StagedProgress(Progress, Protocol):
    """A :class:`Progress` that can also name the step a task of several steps is on."""

    def describe(self, label: str, /) -> None: ...


def no_progress(done: int, total: int, /) -> None:
    """The default :class:`Progress`: draws nothing."""


def describe_step(progress: Progress, label: str) -> None:
    """Name the step a task of several steps is on: on a :class:`StagedProgress` (the CLI's bar);
    a plain :class:`Progress` has nothing to show it on and is left alone."""
    if isinstance(progress, StagedProgress):
        progress.describe(label)
