"""The package's public names: ``__all__`` is sorted and every name imports."""

from __future__ import annotations

import kalkan.ingest as ingest


def test_all_names_import() -> None:
    assert ingest.__all__ == sorted(set(ingest.__all__))
    for name in ingest.__all__:
        assert getattr(ingest, name) is not None, name


def test_unknown_name_raises_attribute_error() -> None:
    try:
        ingest.nothing_here  # noqa: B018
    except AttributeError as error:
        assert "nothing_here" in str(error)
    else:
        raise AssertionError("expected AttributeError")
