"""Lazy re-exports for a package's ``__init__``: a name is imported from its module on first use.

So ``import kalkan.plan.defaults`` (a table of numbers) does not load the whole planner (SciPy, HiGHS),
and ``kalkan --help`` does not pay for pandas or numba. The package keeps its names in a
``TYPE_CHECKING`` block for the type checker, and lists where each one lives for this module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose name ``N`` lives in module ``where[N]``.

    ``where`` maps each public name to its module, relative to the package (``"coverage"``) or
    absolute (``"kalkan.ingest.reader"``). A name is cached in the package once loaded.
    """

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = where[name]
        value = getattr(importlib.import_module(module if "." in module else f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        # The public names, the package's own dunders and its loaded submodules; not the helpers its
        # __init__ imports (TYPE_CHECKING, lazy_exports).
        own = vars(sys.modules[package])
        kept = {n for n, v in own.items() if n.startswith("_") or isinstance(v, ModuleType)}
        return sorted(kept | set(where))

    return __getattr__, __dir__
