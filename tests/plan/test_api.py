"""The public API of kalkan.plan: a sorted __all__ that matches what imports."""

import kalkan.plan


def test_all_is_sorted_and_importable() -> None:
    assert kalkan.plan.__all__ == sorted(kalkan.plan.__all__)
    for name in kalkan.plan.__all__:
        assert getattr(kalkan.plan, name) is not None
    public = {
        n
        for n in dir(kalkan.plan)
        if not n.startswith("_") and not isinstance(getattr(kalkan.plan, n), type(kalkan))
    }
    assert public == set(kalkan.plan.__all__)
