"""Unit types and force options: officer counting, parsing."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kalkan.errors import OptionError
from kalkan.plan.units import (
    UNIT_TYPES,
    ForceOption,
    officers_for_posts,
    officers_per_post,
    parse_options,
    posts_for,
)


def test_parse_options_reads_the_brief_default() -> None:
    options = parse_options("monitors:50,monitors:100,police:300, police:600 ,police:1000")
    assert [o.label for o in options] == [
        "monitors:50",
        "monitors:100",
        "police:300",
        "police:600",
        "police:1000",
    ]
    assert options[0] == ForceOption("monitors", 50)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("abc", "Cannot read force option 'abc'"),  # no colon
        ("police:-5", "-5 officers"),  # negative count
        ("police:0", "0 officers"),  # zero count
        ("tanks:5", "Unknown unit type 'tanks'"),  # unknown unit
        ("police:5.5", "Cannot read"),  # not whole
        ("", "No force options"),  # nothing
    ],
)
def test_parse_options_rejects_bad_items(text: str, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        parse_options(text)


def test_force_option_validates_directly() -> None:
    with pytest.raises(OptionError):
        ForceOption("police", -1)
    with pytest.raises(OptionError):
        ForceOption("tanks", 10)


def test_shift_multiplier_and_pairs() -> None:
    # 24/7: 8,760 h / 1,698 h = 5.16, rounded to 5.2 in the source.
    assert UNIT_TYPES["police"].shift_multiplier == pytest.approx(8760 / 1698, abs=0.05)
    assert officers_per_post("monitors") == pytest.approx(10.4)  # a pair on duty x 5.2
    assert officers_per_post("police") == pytest.approx(10.4)
    assert officers_per_post("fpu") == pytest.approx(52.0)


@pytest.mark.parametrize(
    ("label", "posts"),
    [
        ("monitors:50", 4),  # 25 pairs = 50 monitors; 50 / 10.4 = 4.8 posts
        ("monitors:100", 9),  # 100 / 10.4 = 9.6
        ("monitors:11", 0),  # 5 pairs = 10 monitors < 10.4
        ("police:600", 57),  # 600 / 10.4 = 57.7
        ("police:1000", 96),  # 1000 / 10.4 = 96.2
        ("fpu:139", 0),  # not one whole FPU
        ("fpu:140", 2),  # 140 // 52 = 2 posts per unit
        ("fpu:279", 2),  # still one FPU
        ("fpu:420", 6),  # three FPUs
    ],
)
def test_posts_for(label: str, posts: int) -> None:
    assert posts_for(parse_options(label)[0]) == posts


def test_armed_units_protect_unarmed_observe() -> None:
    assert UNIT_TYPES["monitors"].coverage_kind == "observed"
    assert UNIT_TYPES["police"].coverage_kind == "protected"
    assert UNIT_TYPES["fpu"].coverage_kind == "protected"
    assert UNIT_TYPES["fpu"].deploy_size == 140


@given(unit=st.sampled_from(sorted(UNIT_TYPES)), officers=st.integers(1, 20_000))
def test_officer_counting_round_trips(unit: str, officers: int) -> None:
    posts = posts_for(ForceOption(unit, officers))
    needed = officers_for_posts(unit, posts)
    kind = UNIT_TYPES[unit]
    # The posts an option holds never need more officers than it has ...
    assert needed <= officers
    # ... come in whole deployable groups ...
    assert needed % kind.deploy_size == 0
    # ... and are staffed around the clock.
    assert needed >= posts * officers_per_post(unit) - 1e-9
    # One more post would need more officers than the option has.
    assert officers_for_posts(unit, posts + 1) > officers
    assert math.isclose(officers_per_post(unit), kind.officers_per_post * kind.shift_multiplier)


@given(text=st.text(max_size=30))
def test_parse_options_never_crashes_on_junk(text: str) -> None:
    # Anything either parses into valid options or raises OptionError with a message; nothing else.
    try:
        options = parse_options(text)
    except OptionError as error:
        assert str(error)
    else:
        assert all(o.officers > 0 and o.unit in UNIT_TYPES for o in options)
