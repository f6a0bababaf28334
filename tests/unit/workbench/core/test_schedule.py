import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errors import UserError
from workbench.core.schedule import checkpoint_epochs, parse_schedule


def test_example_from_the_docs():
    assert checkpoint_epochs("0:300:50", 300) == [0, 50, 100, 150, 200, 250, 300]


def test_zero_and_final_always_included():
    assert checkpoint_epochs("100", 250) == [0, 100, 250]


def test_canonical_schedule_is_dense_where_dynamics_happen():
    epochs = checkpoint_epochs("0:1500:100,1500:9000:500,9000:13000:100,13000:25001:500", 25000)
    assert epochs[:3] == [0, 100, 200] and 9100 in epochs and 9600 in epochs and 13500 in epochs
    assert 2100 not in epochs and epochs[-1] == 25000


@pytest.mark.parametrize("spec", ["", "a", "1:2", "0:10:0", "0:10:-1", "1:2:3:4", "5:1:1", "-5", "0:10:x", ","])
def test_malformed_or_out_of_range_specs_raise(spec):
    with pytest.raises(UserError):
        checkpoint_epochs(spec, 100)


def test_epoch_past_the_end_is_an_error_unless_clipped():
    with pytest.raises(UserError, match="past the last epoch"):
        checkpoint_epochs("0:500:100", 300)
    assert checkpoint_epochs("0:500:100", 300, clip=True) == [0, 100, 200, 300]


@pytest.mark.parametrize("epochs", [0, -3])
def test_non_positive_epochs_raise(epochs):
    with pytest.raises(UserError, match="positive"):
        checkpoint_epochs("0", epochs)


ranges = st.tuples(st.integers(0, 500), st.integers(0, 500), st.integers(1, 60)).map(lambda t: (min(t[:2]), max(t[:2]), t[2]))


@given(st.lists(ranges, min_size=1, max_size=4), st.lists(st.integers(0, 600), max_size=4))
def test_parse_matches_python_ranges(parts, singles):
    spec = ",".join([f"{a}:{b}:{s}" for a, b, s in parts] + [str(e) for e in singles])
    expected = sorted({e for a, b, s in parts for e in range(a, b, s)} | set(singles))
    assert parse_schedule(spec) == expected


@given(st.lists(ranges, min_size=1, max_size=3), st.integers(1, 700))
def test_checkpoints_sorted_unique_bounded_with_ends(parts, total):
    spec = ",".join(f"{a}:{b}:{s}" for a, b, s in parts)
    epochs = checkpoint_epochs(spec, total, clip=True)
    assert epochs == sorted(set(epochs))
    assert epochs[0] == 0 and epochs[-1] == total and all(0 <= e <= total for e in epochs)


@pytest.mark.parametrize("spec, message", [
    ("0:10000000000:1", "more than 100,000"),
    ("0:60000:1,0:60000:1", "more than 100,000"),  # overlapping parts count in full: refused before building
    ("0:1_000:100", "not a plain decimal integer"),
    ("０:１０:１", "not a plain decimal integer"),
    ("0:" + "9" * 30 + ":1", "not a plain decimal integer"),
])
def test_huge_or_unusual_specs_are_refused_before_any_set_is_built(spec, message):
    with pytest.raises(UserError, match=message):
        parse_schedule(spec)


def test_the_largest_allowed_schedule_parses():
    assert len(parse_schedule("0:100000:1")) == 100_000
    assert parse_schedule(" 0 : 10 : 5 , 7 ") == [0, 5, 7]
