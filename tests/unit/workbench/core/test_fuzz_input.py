"""Fuzz the text a user types (variant specs, schedules, seed lists): each either parses or
raises UserError, never anything else, and never hangs or allocates without bound
(issue 9: `seed=2**70`, `p` near 10^18 and `0:10000000000:1` once did)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench.core.errors import UserError
from workbench.core.family import get_family, list_families
from workbench.core.schedule import MAX_CHECKPOINTS, parse_schedule
from workbench.core.variant import parse_variant
from workbench.sweep.stacked import MAX_MEMBERS, parse_seeds

FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

FAMILIES = list_families()
KEYS = sorted({k for f in FAMILIES for k in get_family(f).Params.model_fields} | {"q", "", " p", "r.lr", "r.epochs"})
NUMBERS = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1_3", "１３", "0x11", "1e999", "-0.0", "inf", "nan", "", " ", "13.0", ".5", "5.", "1e-9"]),
    st.text(max_size=8),
)
PAIRS = st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(["=", "==", ""]), NUMBERS), max_size=4)
SPECS = st.one_of(
    st.tuples(st.sampled_from(FAMILIES), PAIRS).map(
        lambda t: f"{t[0]}:" + ",".join(f"{k}{sep}{v}" for k, sep, v in t[1])),
    st.text(max_size=40),
)


def _parses_or_refuses(fn, text):
    try:
        return fn(text)
    except UserError:
        return None


@FUZZ
@given(SPECS)
@example("modular_addition:seed=1180591620717411303424")
@example("modular_addition:p=1000000000000000003")
@example("modular_addition:p=13,p=17")
@example("modular_addition:lr=101")  # once passed the params model, then failed in the family's Recipe
def test_variant_specs_parse_or_raise_user_error(spec):
    variant = _parses_or_refuses(parse_variant, spec)
    if variant is not None:  # what parses names one directory, and round-trips through it
        assert parse_variant(variant.spec) == variant
        assert "-0.0" not in variant.dir_name


PARTS = st.one_of(
    st.tuples(st.integers(-5, 10**12), st.integers(-5, 10**12), st.integers(-2, 10**6)).map(lambda t: "%d:%d:%d" % t),
    st.integers(-5, 10**12).map(str),
    st.text(alphabet="0123456789:-_ ,１x", max_size=12),
)


@FUZZ
@given(st.lists(PARTS, min_size=0, max_size=4).map(",".join))
@example("0:10000000000:1")
@example("0:100001:1")
def test_schedules_parse_or_raise_user_error(spec):
    epochs = _parses_or_refuses(parse_schedule, spec)
    if epochs is not None:
        assert len(epochs) <= MAX_CHECKPOINTS and epochs == sorted(set(epochs)) and min(epochs, default=0) >= 0


SEED_PARTS = st.one_of(
    st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)).map(lambda t: "%d-%d" % t),
    st.integers(-3, 2**70).map(str),
    st.text(alphabet="0123456789-, x１", max_size=10),
)


@FUZZ
@given(st.lists(SEED_PARTS, max_size=3).map(",".join))
@example("0-1000000000")
def test_seed_lists_parse_or_raise_user_error(text):
    seeds = _parses_or_refuses(parse_seeds, text)
    if seeds is not None:
        assert 0 < len(seeds) <= MAX_MEMBERS and min(seeds) >= 0
