import pytest

from workbench.core.errors import UserError
from workbench.core.family import get_family, list_families
from workbench.core.registry import Registry
from workbench.core.variant import parse_variant


def test_default_variant_is_canonical():
    v = parse_variant("modular_addition")
    assert v.params.p == 113 and v.params.seed == 999 and v.params.data_seed == 598
    assert v.params.frac_train == 0.3 and v.params.lr == 1e-3 and v.params.weight_decay == 1.0
    assert v.dir_name == "p=113,seed=999,data_seed=598,frac_train=0.3,lr=0.001,weight_decay=1.0"


def test_dir_name_is_deterministic_and_round_trips():
    a = parse_variant("modular_addition:seed=1,p=53")
    b = parse_variant("modular_addition:p=53,seed=1,data_seed=598")
    assert a.dir_name == b.dir_name
    assert parse_variant(a.spec) == a


def test_params_are_frozen():
    v = parse_variant("modular_addition:p=53")
    with pytest.raises(Exception):
        v.params.p = 59


@pytest.mark.parametrize("spec, message", [
    ("nope", "unknown family 'nope'"),
    ("modular_addition:q=3", "unknown parameter 'q'"),
    ("modular_addition:p=12", "p must be prime"),
    ("modular_addition:p=abc", "'p'"),
    ("modular_addition:p=5.5", "'p'"),
    ("modular_addition:frac_train=1.5", "'frac_train'"),
    ("modular_addition:p", "not key=value"),
])
def test_bad_variants_name_the_problem(spec, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        parse_variant(spec)


def test_registry_rejects_duplicates_and_names_choices():
    reg = Registry("thing", "workbench.tests.things")  # a group no package declares
    reg.add("a", 1)
    with pytest.raises(ValueError, match="duplicate"):
        reg.add("a", 2)
    with pytest.raises(UserError, match="choose from: a"):
        reg.get("b")
    assert reg.resolve("all") == ["a"]


def test_family_provides_everything():
    for name in list_families():
        fam = get_family(name)
        params = fam.Params()
        data = fam.data(params)
        assert data.inputs.shape[0] == data.labels.shape[0] == data.train_mask.shape[0]
        assert 0 < data.train_mask.float().mean() < 1
        recipe = fam.recipe(params)
        assert (recipe.epochs or recipe.steps or 0) > 0  # a budget in epochs or in optimizer steps
        state = fam.init_state(params)
        logits = fam.train_module(params, state)(data.inputs[:4])
        assert logits.shape[0] == 4


def test_split_depends_only_on_data_seed():
    fam = get_family("modular_addition")
    m1 = fam.data(parse_variant("modular_addition:p=17,seed=1").params).train_mask
    m2 = fam.data(parse_variant("modular_addition:p=17,seed=2").params).train_mask
    m3 = fam.data(parse_variant("modular_addition:p=17,data_seed=3").params).train_mask
    assert (m1 == m2).all() and not (m1 == m3).all()
    assert int(m1.sum()) == int(0.3 * 17 * 17)


@pytest.mark.parametrize("spec, message", [
    ("modular_addition:p=100003", "'p'.*less than or equal to 1000, got 100003"),
    ("modular_addition:p=1000000000000000003", "less than or equal to 1000"),  # bound first: no slow prime test
    ("modular_addition:seed=1180591620717411303424", "'seed'.*less than 9223372036854775808"),  # 2**70
    ("modular_addition:data_seed=9223372036854775808", "'data_seed'"),
    ("modular_addition:seed=-1", "'seed'"),
    ("modular_addition:frac_train=1e-9", "at least one training and one test pair"),
    ("modular_addition:p=2,frac_train=0.1", "0 of the 4 pairs"),
    ("modular_addition:lr=inf", "'lr'.*finite"),
    ("modular_addition:lr=nan", "'lr'.*finite"),
    ("modular_addition:lr=1e999", "'lr'.*finite"),
    ("modular_addition:lr=0", "'lr'.*greater than 0"),
    ("modular_addition:weight_decay=inf", "'weight_decay'.*finite"),
    ("modular_addition:weight_decay=-1e-9", "'weight_decay'"),
    ("modular_addition:p=１３", "'p'.*not a plain decimal integer"),  # full-width digits
    ("modular_addition:p=1_3", "not a plain decimal integer"),
    ("modular_addition:p=13.0", "not a plain decimal integer"),
    ("modular_addition:p=0x11", "not a plain decimal integer"),
    ("modular_addition:lr=1_0", "'lr'.*not a plain decimal number"),
    ("modular_addition:lr=０.５", "not a plain decimal number"),
    ("modular_addition:p=13,p=17", "'p' is given twice"),
    ("modular_addition:p=" + "9" * 40, "not a plain decimal integer"),
])
def test_out_of_bounds_and_ambiguous_values_are_refused(spec, message):
    with pytest.raises(UserError, match=message):
        parse_variant(spec)


def test_negative_zero_is_the_same_variant_as_zero():
    a = parse_variant("modular_addition:weight_decay=-0.0")
    assert a == parse_variant("modular_addition:weight_decay=0")
    assert "weight_decay=0.0" in a.dir_name and "-0.0" not in a.dir_name
    assert parse_variant("modular_addition", {"weight_decay": -0.0}).dir_name == a.dir_name


@pytest.mark.parametrize("spec, expected", [
    ("modular_addition:lr=.003", 0.003), ("modular_addition:lr=3e-3", 0.003), ("modular_addition:lr=+3E-3", 0.003),
    ("modular_addition:p= 53 , lr = 0.003", 0.003),
])
def test_plain_numbers_in_every_usual_spelling_still_parse(spec, expected):
    assert parse_variant(spec).params.lr == expected


def test_the_smallest_splits_that_leave_a_row_on_each_side_are_accepted():
    assert parse_variant("modular_addition:p=2,frac_train=0.25").params.frac_train == 0.25  # 1 train, 3 test
    assert parse_variant("modular_addition:p=2,frac_train=0.99").params.frac_train == 0.99  # 3 train, 1 test
    assert parse_variant("modular_addition:p=997,seed=9223372036854775807").params.seed == 2**63 - 1
