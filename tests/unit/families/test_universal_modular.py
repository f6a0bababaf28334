"""universal_modular: SinPE, class masking, the prime split, the REINFORCE estimator against
its exact gradient, REINFORCE resume and the cross-entropy warm start (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from families._universal import MASKED, sinpe
from families.universal_modular import GROUPS, prime_groups, reinforce_loss
from workbench.cli import main
from workbench.core.family import get_family
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store
from workbench.store._io import load_npz, load_safetensors

FAMILY = get_family("universal_modular")
TINY = "universal_modular:max_p=13,train_min=2,train_max=11,n_unseen=1,d_model=16,n_heads=2,d_mlp=32,d_sin=8"


def test_sinpe_is_deterministic_and_distinct_per_prime():
    primes = torch.tensor([p for p in range(2, 114) if all(p % d for d in range(2, p))])
    a, b = sinpe(primes, 32, 10_000.0), sinpe(primes, 32, 10_000.0)
    assert torch.equal(a, b) and a.shape == (30, 32)
    dist = torch.cdist(a.double(), a.double()) + torch.eye(len(primes)) * 1e9
    assert float(dist.min()) > 0.1  # every pair of moduli is far apart
    # the encoding is of the value: sin/cos(p w_0) with w_0 = 1
    torch.testing.assert_close(a[:, :2], torch.stack([primes.double().sin(), primes.double().cos()], 1).float())


def test_logits_are_masked_to_the_p_valid_classes():
    params = parse_variant(TINY).params
    gen = torch.Generator().manual_seed(1)
    state = {k: v + 0.5 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v
             for k, v in FAMILY.init_state(params).items()}
    probe = FAMILY.probe(params)
    with torch.no_grad():
        logits = FAMILY.train_module(params, state)(probe.inputs)
    p = probe.inputs[:, 0]
    invalid = torch.arange(13) >= p[:, None]
    probs = torch.softmax(logits, -1)
    assert bool((probs[invalid] == 0).all()) and bool((logits[invalid] == MASKED).all())
    assert bool((logits.argmax(-1) < p).all())
    torch.testing.assert_close(probs.sum(-1), torch.ones(len(p)))


def test_prime_split_holds_out_interior_primes_from_prime_seed():
    params = parse_variant("universal_modular:train_min=3,train_max=79,n_unseen=4").params
    primes, group = prime_groups(params)
    assert list(primes[:3]) == [2, 3, 5] and primes[-1] == 113
    unseen = primes[group == 1]
    assert len(unseen) == 4 and all(3 < p < 79 for p in unseen)
    assert list(primes[group == 2]) == [83, 89, 97, 101, 103, 107, 109, 113] and list(primes[group == 3]) == [2]
    again = prime_groups(params)[1]
    other = prime_groups(parse_variant("universal_modular:n_unseen=4,prime_seed=1").params)[1]
    assert np.array_equal(group, again) and not np.array_equal(group, other)
    assert len(GROUPS) == 4


def test_train_split_is_fixed_per_prime_and_the_probe_agrees():
    params = parse_variant(TINY).params
    data, probe = FAMILY.data(params), FAMILY.probe(params)
    seen = set(prime_groups(params)[0][prime_groups(params)[1] == 0].tolist())
    assert set(data.inputs[:, 0].tolist()) == seen
    assert torch.equal((data.inputs[:, 1] + data.inputs[:, 2]) % data.inputs[:, 0], data.labels)
    rows = {tuple(r): bool(m) for r, m in zip(data.inputs.tolist(), data.train_mask)}
    probe_rows = {tuple(r): bool(m) for r, m in zip(probe.inputs.tolist(), probe.train_mask)}
    assert all(probe_rows[r] == m for r, m in rows.items())
    assert not any(m for r, m in probe_rows.items() if r not in rows)  # unseen primes never train
    for p in seen:  # each seen prime has train and test pairs
        sel = data.inputs[:, 0] == p
        assert 0 < int(data.train_mask[sel].sum()) < int(sel.sum())


@pytest.mark.parametrize("baseline", [0.0, 0.4])
def test_reinforce_gradient_matches_the_exact_policy_gradient_on_average(baseline):
    """A 3-class policy, label 0: E[reward] = pi_0, d pi_0 / d theta = pi_0 (e_0 - pi). The
    estimator's mean gradient over 200,000 sampled rows is -that, with or without a baseline."""
    theta = torch.tensor([0.2, -0.3, 0.5], dtype=torch.float64, requires_grad=True)
    rows = 200_000
    logits = theta.expand(rows, 3)
    loss, reward = reinforce_loss(logits, torch.zeros(rows, dtype=torch.long), torch.Generator().manual_seed(0),
                                  torch.tensor(baseline), entropy_coef=0.0)
    loss.backward()
    pi = torch.softmax(theta.detach(), 0)
    exact = -pi[0] * (torch.tensor([1.0, 0, 0], dtype=torch.float64) - pi)
    assert abs(float(reward) - float(pi[0])) < 0.005
    assert torch.equal(torch.sign(theta.grad), torch.sign(exact))
    torch.testing.assert_close(theta.grad, exact, atol=0.004, rtol=0)  # ~4 standard errors at 200k rows


def test_reinforce_never_samples_a_masked_class_and_rewards_only_correct_answers():
    logits = torch.tensor([[0.0, 0.0, MASKED], [5.0, MASKED, MASKED]])
    gen = torch.Generator().manual_seed(0)
    rewards = [float(reinforce_loss(logits, torch.tensor([2, 0]), gen, torch.tensor(0.0), 0.0)[1])
               for _ in range(200)]
    assert set(rewards) <= {0.5}  # row 0 can never hit class 2; row 1 always samples 0


def _train(store, spec, *extra):
    return main(["train", spec, "--store", str(store), "--quiet", *extra])


def test_reinforce_resume_is_bit_identical(tmp_path):
    spec = TINY + ",objective=reinforce,ce_steps=5"
    key = RunKey(*parse_variant(spec).key)
    assert _train(tmp_path / "a", spec, "--epochs", "30", "--schedule", "0:31:10") == 0
    assert _train(tmp_path / "b", spec, "--epochs", "20", "--schedule", "0:21:10") == 0
    assert _train(tmp_path / "b", spec, "--extra-epochs", "10") == 0
    a, b = (Store(tmp_path / s).load_checkpoint(key, 30) for s in "ab")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert float(a["reinforce.baseline"]) > 0 and int(a["reinforce.step"]) == 30
    ma, mb = (Store(tmp_path / s).read_metrics(key) for s in "ab")
    for column in ma:
        np.testing.assert_array_equal(ma[column], mb[column], err_msg=column)


def test_ce_steps_warm_start_is_the_cross_entropy_run_up_to_that_step(tmp_path):
    ce, rl = TINY, TINY + ",objective=reinforce,ce_steps=10"
    for spec in (ce, rl):
        assert _train(tmp_path, spec, "--epochs", "20", "--schedule", "0:21:10") == 0
    store = Store(tmp_path)
    at = {s: load_safetensors(store.checkpoint_path(RunKey(*parse_variant(s).key), 10)) for s in (ce, rl)}
    assert all(torch.equal(at[ce][k], at[rl][k]) for k in at[ce])
    after = {s: load_safetensors(store.checkpoint_path(RunKey(*parse_variant(s).key), 20)) for s in (ce, rl)}
    assert not torch.equal(after[ce]["unembed.W_U"], after[rl]["unembed.W_U"])
    assert float(after[rl]["reinforce.baseline"]) > 0 and float(after[ce]["reinforce.baseline"]) == 0


def test_metrics_hold_reward_baseline_and_group_accuracies(tmp_path):
    spec = TINY + ",objective=reinforce"
    assert _train(tmp_path, spec, "--epochs", "4", "--schedule", "0:5:2") == 0
    m = load_npz(Store(tmp_path).metrics_path(RunKey(*parse_variant(spec).key)))
    for column in ("reward", "baseline", "unseen_acc", "extrap_acc"):
        assert column in m and np.isfinite(m[column]).all()
    assert m["baseline"][0] == 0 and m["baseline"][-1] > 0 and (0 < m["reward"]).all() and (m["reward"] < 1).all()


def test_ce_steps_need_reinforce(capsys):
    assert main(["train", TINY + ",ce_steps=3", "--epochs", "2", "--store", "/nonexistent/never"]) == 2
    assert "ce_steps" in capsys.readouterr().err


def test_primes_by_name_define_the_groups_exactly():
    from workbench.training.config import load_config

    params = parse_variant(load_config("uma_study_ce").variant).params
    primes, group = prime_groups(params)
    named = {GROUPS[g]: primes[group == g].tolist() for g in range(4)}
    assert 13 in named["seen"] and 71 in named["unseen"] and 101 in named["extrapolation"]
    assert named["unseen"] == [17, 31, 47, 61, 71] and named["extrapolation"] == [83, 89, 97, 101, 103, 107, 109, 113]
    assert named["below"] == [] and len(named["seen"]) == 17
    assert set(FAMILY.data(params).inputs[:, 0].tolist()) == set(named["seen"])  # only named seen primes train
    in_range = parse_variant("universal_modular:max_p=23,train_min=3,train_max=13,unseen_primes=5+11").params
    assert prime_groups(in_range)[1].tolist() == [3, 0, 1, 0, 1, 0, 2, 2, 2]  # 2 below, 17..23 extrapolate
    explicit = parse_variant("universal_modular:max_p=23,train_primes=3+7,unseen_primes=5,extrapolation_primes=23").params
    primes, group = prime_groups(explicit)
    assert dict(zip(primes.tolist(), group.tolist())) == {2: 3, 3: 0, 5: 1, 7: 0, 11: 3, 13: 3, 17: 3, 19: 3, 23: 2}
    assert FAMILY.capabilities(explicit).multi_prime.groups == group.tolist()


def test_named_primes_leave_old_run_names_alone():
    old = parse_variant("universal_modular:max_p=47,train_min=3,train_max=31,n_unseen=2,frac_train=0.7,d_model=64")
    assert "_primes" not in old.dir_name
    assert old.dir_name == ("max_p=47,train_min=3,train_max=31,n_unseen=2,prime_seed=0,data_seed=0,frac_train=0.7,"
                            "seed=0,objective=ce,d_model=64")
    named = parse_variant("universal_modular:max_p=47,train_primes=3+5+7,unseen_primes=11")
    assert named.dir_name.endswith(",train_primes=3+5+7,unseen_primes=11")
    for config in ("uma_study_ce", "uma_study_reinforce"):  # a run name is at most 255 bytes
        from workbench.training.config import load_config

        assert len(parse_variant(load_config(config).variant).dir_name) < 200
    assert parse_variant(named.spec).dir_name == named.dir_name  # the name parses back to the same run


@pytest.mark.parametrize("spec, problem", [
    ("max_p=23,train_primes=3+9", "primes <= max_p"), ("max_p=23,train_primes=3+29", "primes <= max_p"),
    ("max_p=23,train_primes=3+5,unseen_primes=5", "named twice"), ("max_p=23,train_primes=,unseen_primes=5", "key=value"),
    ("max_p=23,train_primes=3+5,prime_seed=2", "leave prime_seed"), ("max_p=23,train_primes=3,train_max=13", "leave train_max"),
    ("max_p=23,train_max=13,unseen_primes=17", "outside the training range"),
    ("max_p=23,train_max=13,unseen_primes=5,n_unseen=2", "leave n_unseen")])
def test_bad_named_primes_are_refused_in_one_line(spec, problem, capsys):
    from workbench.core.errors import UserError

    with pytest.raises(UserError, match=problem):
        parse_variant(f"universal_modular:{spec}")
