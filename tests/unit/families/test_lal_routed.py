"""`model=routed_study` (issue 27) against an independent re-implementation of the study's
RoutedNetwork and its routing penalties, written here in plain torch from the study notes
(nn.Linear / nn.LayerNorm with the study's module names), in float64: logits, each penalty,
the objective and every gradient agree; closed-form values; the study's parameter count;
the decay groups; the last state update never moves; the split is the study's."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from families._lal_routed import study_penalty
from workbench.core.recipe import build_optimizer
from workbench.core.variant import parse_variant


# ----------------------------------------------------------------------------- the reference
class RefGate(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.state_proj, self.residual_proj, self.gate = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, h)

    def forward(self, state, resid):
        return F.softmax(self.gate(F.gelu(self.state_proj(state) + self.residual_proj(resid))), dim=-1)


class RefLayer(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)) for _ in range(h))
        self.routing_gate, self.state_update, self.norm = RefGate(d, h), nn.Linear(2 * d, d), nn.LayerNorm(d)

    def forward(self, h, s):
        w = self.routing_gate(s, h)
        mixed = sum(w[:, i:i + 1] * head(h) for i, head in enumerate(self.heads))
        h = self.norm(h + mixed)
        return h, self.state_update(torch.cat([s, h], dim=-1)), w


class RefNet(nn.Module):
    def __init__(self, p, d, h, n_layers):
        super().__init__()
        self.p, self.embed, self.state_init = p, nn.Linear(2 * p, d), nn.Linear(d, d)
        self.layers = nn.ModuleList(RefLayer(d, h) for _ in range(n_layers))
        self.output_head = nn.Linear(d, p)

    def forward(self, a, b):
        x = torch.cat([F.one_hot(a, self.p), F.one_hot(b, self.p)], -1).double()
        h = self.embed(x)
        s, weights = self.state_init(h), []
        for layer in self.layers:
            h, s, w = layer(h, s)
            weights.append(w)
        return self.output_head(h), weights, x


def ref_penalty(weights, kind, x):
    total = 0.0
    for w in weights:
        n = w.shape[1]
        if kind == "entropy":
            c = w.clamp(1e-8, 1 - 1e-8)
            total = total + (-(c * torch.log(c)).sum(1)).mean()
        elif kind == "sparsity":
            total = total + (1 - w.max(1).values).mean()
        elif kind == "gini":
            srt = torch.sort(w, 1).values
            g = 2 * (torch.arange(1, n + 1, dtype=w.dtype) * srt).sum(1) / (n * srt.sum(1) + 1e-8) - (n + 1) / n
            total = total + (1 - g).mean()
        else:  # consistency: KL(E || w) per row, batch mean; E = softmax(cos-similarity) @ w
            xn = x / x.norm(dim=1, keepdim=True)
            e = torch.softmax(xn @ xn.T, dim=1) @ w
            total = total + (e * (e.log() - torch.clamp(w.log(), min=-100))).sum() / len(w)
    return total / len(weights)


def _load(ref: RefNet, ours: dict[str, torch.Tensor], n_layers: int, n_heads: int) -> None:
    """Our [in, out] state onto the reference's [out, in] nn.Linear weights."""
    sd = {"embed.weight": ours["embed.W_E"].T, "embed.bias": ours["embed.b_E"], "state_init.weight": ours["state_init.W"].T,
          "state_init.bias": ours["state_init.b"], "output_head.weight": ours["unembed.W_U"].T,
          "output_head.bias": ours["unembed.b_U"]}
    for i in range(n_layers):
        o, r = f"blocks.{i}", f"layers.{i}"
        for k in range(n_heads):
            sd |= {f"{r}.heads.{k}.0.weight": ours[f"{o}.heads.W_in"][k].T, f"{r}.heads.{k}.0.bias": ours[f"{o}.heads.b_in"][k],
                   f"{r}.heads.{k}.2.weight": ours[f"{o}.heads.W_out"][k].T, f"{r}.heads.{k}.2.bias": ours[f"{o}.heads.b_out"][k]}
        for mine, theirs in (("W_state", "state_proj"), ("W_resid", "residual_proj"), ("W_gate", "gate")):
            sd |= {f"{r}.routing_gate.{theirs}.weight": ours[f"{o}.gate.{mine}"].T,
                   f"{r}.routing_gate.{theirs}.bias": ours[f"{o}.gate.b{mine[1:]}"]}
        sd |= {f"{r}.state_update.weight": ours[f"{o}.state_update.W"].T, f"{r}.state_update.bias": ours[f"{o}.state_update.b"],
               f"{r}.norm.weight": ours[f"{o}.ln.w"], f"{r}.norm.bias": ours[f"{o}.ln.b"]}
    ref.load_state_dict({k: v.clone() for k, v in sd.items()}, strict=True)


def _pair(p, d, h, n_layers, routing="none", lam=0.0, seed=0):
    spec = f"least_action:p={p},model=routed_study,hidden_dim={d},n_heads={h},n_layers={n_layers}"
    if routing != "none":
        spec += f",routing={routing},lambda_routing={lam}"
    v = parse_variant(spec)
    state = v.family.init_state(v.params)
    gen = torch.Generator().manual_seed(seed)
    state = {k: (t + 0.5 * torch.randn(t.shape, generator=gen)).double() for k, t in state.items()}  # gates far from uniform
    ours = v.family.train_module(v.params, state).double()
    ref = RefNet(p, d, h, n_layers).double()
    _load(ref, state, n_layers, h)
    return v, ours, ref


@pytest.mark.parametrize("p", [5, 7])
@pytest.mark.parametrize("n_layers", [1, 2, 3])
@pytest.mark.parametrize("heads", [1, 2, 4])
def test_logits_equal_the_reference(p, n_layers, heads):
    v, ours, ref = _pair(p, 6, heads, n_layers)
    tokens = torch.randint(0, p, (40, 2), generator=torch.Generator().manual_seed(p * n_layers + heads))
    theirs, weights, _ = ref(tokens[:, 0], tokens[:, 1])
    torch.testing.assert_close(ours(tokens), theirs, atol=1e-12, rtol=0)
    if heads == 1:
        assert all(torch.equal(w, torch.ones_like(w)) for w in weights)  # one head: the gate is exactly 1


@pytest.mark.parametrize("kind", ["entropy", "sparsity", "gini", "consistency"])
def test_penalty_objective_and_every_gradient_equal_the_reference(kind):
    lam = 0.3
    v, ours, ref = _pair(7, 6, 3, 2, routing=kind, lam=lam, seed=1)
    data = v.family.data(v.params)
    tokens, labels = data.inputs[data.train_mask], data.labels[data.train_mask]
    logits = ours(tokens)
    loss = v.family.objective(logits, labels, torch.Generator())
    theirs, weights, x = ref(tokens[:, 0], tokens[:, 1])
    pen = ref_penalty(weights, kind, x)
    ref_loss = F.cross_entropy(theirs, labels) + lam * pen
    torch.testing.assert_close(ours.aux_loss, lam * pen, atol=1e-12, rtol=0)
    torch.testing.assert_close(loss, ref_loss, atol=1e-12, rtol=0)
    loss.backward()
    ref_loss.backward()
    grads = dict(ref.named_parameters())
    assert ours.blocks[1].state_update.W.grad is None and grads["layers.1.state_update.weight"].grad is None
    checks = {"embed.W_E": grads["embed.weight"].grad.T, "blocks.0.gate.W_gate": grads["layers.0.routing_gate.gate.weight"].grad.T,
              "blocks.1.gate.W_state": grads["layers.1.routing_gate.state_proj.weight"].grad.T,
              "blocks.0.state_update.W": grads["layers.0.state_update.weight"].grad.T,
              "blocks.1.heads.W_out": torch.stack([grads[f"layers.1.heads.{k}.2.weight"].grad.T for k in range(3)]),
              "blocks.0.ln.w": grads["layers.0.norm.weight"].grad, "unembed.b_U": grads["output_head.bias"].grad}
    named = dict(ours.named_parameters())
    for name, expected in checks.items():
        torch.testing.assert_close(named[name].grad, expected, atol=1e-12, rtol=0, msg=name)


def test_penalties_closed_form_for_uniform_and_one_hot_gates():
    x = torch.eye(6, dtype=torch.float64)
    uniform, one_hot = [torch.full((6, 4), 0.25, dtype=torch.float64)], [torch.eye(4, dtype=torch.float64)[[0, 1, 2, 3, 0, 1]]]
    assert float(study_penalty(uniform, "entropy")) == pytest.approx(math.log(4))
    assert float(study_penalty(uniform, "sparsity")) == pytest.approx(0.75)
    assert float(study_penalty(uniform, "gini")) == pytest.approx(1.0)
    assert float(study_penalty(uniform, "consistency", x)) == pytest.approx(0.0, abs=1e-12)
    assert float(study_penalty(one_hot, "entropy")) == pytest.approx(0.0, abs=1e-6)
    assert float(study_penalty(one_hot, "sparsity")) == 0.0
    assert float(study_penalty(one_hot, "gini")) == pytest.approx(0.25)  # 1/H, not 0
    assert float(study_penalty(one_hot, "consistency", x)) > 0.5  # orthogonal inputs routed apart


def test_parameter_count_is_the_studys_429k():
    v = parse_variant("least_action:p=113,model=routed_study,hidden_dim=74,n_heads=4,n_layers=2")
    assert sum(t.numel() for t in v.family.init_state(v.params).values()) == 429_395


def test_init_distributions_and_decay_groups_are_the_studys():
    v = parse_variant("least_action:p=17,model=routed_study,hidden_dim=32,n_heads=4")
    state = v.family.init_state(v.params)
    assert state["embed.W_E"].abs().max() <= 1 / math.sqrt(34) and state["blocks.0.heads.b_out"].abs().max() <= 1 / math.sqrt(128)
    assert state["blocks.0.gate.W_gate"].abs().max() <= 0.1 * math.sqrt(6 / 36) and not state["blocks.0.gate.b_gate"].any()
    assert torch.equal(state["blocks.1.ln.w"], torch.ones(32))
    groups = v.family.train_module(v.params, state).param_groups()
    assert groups["blocks.0.gate.W_resid"] == groups["blocks.0.gate.b_gate"] == "gate"
    assert groups["embed.W_E"] == groups["blocks.0.ln.w"] == groups["blocks.1.state_update.W"] == "weight"
    assert groups["embed.b_E"] == groups["blocks.0.ln.b"] == "bias"


def test_a_training_step_leaves_the_last_state_update_at_init():
    v = parse_variant("least_action:p=7,model=routed_study,hidden_dim=8,n_heads=2,routing=entropy,lambda_routing=0.1")
    module = v.family.train_module(v.params, v.family.init_state(v.params))
    recipe = v.family.recipe(v.params)
    opt = build_optimizer(recipe, dict(module.named_parameters()), module.param_groups())
    before = {n: q.detach().clone() for n, q in module.named_parameters()}
    data = v.family.data(v.params)
    opt.zero_grad(set_to_none=True)
    v.family.objective(module(data.inputs), data.labels, torch.Generator()).backward()
    opt.step()
    after = dict(module.named_parameters())
    assert torch.equal(after["blocks.1.state_update.W"], before["blocks.1.state_update.W"])
    assert not torch.equal(after["blocks.0.state_update.W"], before["blocks.0.state_update.W"])


def test_consistency_is_refused_for_our_routed_net_and_the_eval_forward_skips_the_penalty():
    from workbench.core.errors import UserError

    with pytest.raises((UserError, ValueError), match="routed_study only"):
        parse_variant("least_action:p=7,model=routed,routing=consistency,lambda_routing=0.1")
    v, ours, _ = _pair(7, 6, 2, 2, routing="consistency", lam=0.1)
    with torch.no_grad():
        ours(v.family.data(v.params).inputs)
    assert ours.aux_loss is None


@pytest.mark.parametrize("p", [17, 113])
def test_split_is_the_studys_rule_at_every_curve_fraction(p):
    for frac in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        v = parse_variant(f"least_action:p={p},frac_train={frac},data_seed=42")
        perm = torch.randperm(p * p, generator=torch.Generator().manual_seed(42))
        n_study = int(p * p * frac)  # the study: int(p^2 * train_frac), a * p + b order
        assert sorted(torch.nonzero(v.family.data(v.params).train_mask)[:, 0].tolist()) == sorted(perm[:n_study].tolist())
