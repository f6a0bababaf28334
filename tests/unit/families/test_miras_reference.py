"""arch=miras (issue 28): its forward equals an independent re-implementation written here from
the study's description (model_miras.py @1d37561 as the issue's notes describe it: SinPE + a
Linear(1, d) on p, the TitansMemory map replacing position 0, pre-LN full-attention layers,
an unmasked unembedding), on the same weights; hand-computed cases; the study's fresh draw and
curriculum; and exact resume of a run crossing the curriculum switch and a REINFORCE start."""

from __future__ import annotations

import math

import numpy as np
import torch

from families._miras import modulus_encoding
from families._universal_split import fresh_draw
from workbench.cli import main
from workbench.core.family import get_family
from workbench.core.variant import parse_variant
from workbench.store import RunKey, Store

FAMILY = get_family("universal_modular")
SPEC = "universal_modular:max_p=23,train_min=3,train_max=13,n_unseen=1,arch=miras,n_layers=2,d_model=16,n_heads=4,d_mlp=24,d_mem=8,n_classes=30"


def _silu(x):
    return x / (1 + torch.exp(-x))


def _layer_norm(x, g, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * g + b


def reference(state: dict, tokens: torch.Tensor, n_layers: int, n_heads: int) -> dict:
    """The study's forward, row by row and head by head (no einsum, no shared code with _miras)."""
    W = {k: v.double() for k, v in state.items() if v.is_floating_point()}
    d = W["embed.W_E"].shape[1]
    dh = d // n_heads
    out = {"logits": [], "sinpe": [], "modulus": [], "post0": []}
    for p, a, b, eq in tokens.tolist():
        pe = torch.zeros(d, dtype=torch.float64)
        for j in range(0, d, 2):  # div_term = exp(j * -(ln 10000 / d)) for even j
            div = math.exp(j * -(math.log(10000.0) / d))
            pe[j], pe[j + 1] = math.sin(p * div), math.cos(p * div)
        x_p = pe + (W["sinpe.w_lin"] * p + W["sinpe.b_lin"])  # nn.Linear(1, d) applied to [p]
        z = _silu(x_p @ W["memory.W_mem"] + W["memory.b_mem"])
        update = _silu((x_p - (z @ W["memory.W_sur"] + W["memory.b_sur"])) @ W["memory.W_mem"])
        pos0 = (z + update) @ W["memory.W_out"] + W["memory.b_out"]
        x = torch.stack([pos0, *(W["embed.W_E"][t] + W["pos_embed.W_pos"][i + 1] for i, t in enumerate((a, b, eq)))])
        for layer in range(n_layers):
            L = f"blocks.{layer}."
            n1 = _layer_norm(x, W[L + "ln1.w"], W[L + "ln1.b"])
            attn = torch.zeros_like(x)
            for h in range(n_heads):
                q, k, v = (n1 @ W[L + f"attn.W_{m}"][h] for m in "QKV")
                weights = torch.softmax(q @ k.T / math.sqrt(dh), dim=-1)  # no mask: all 4 positions
                attn = attn + (weights @ v) @ W[L + "attn.W_O"][h]
            x = x + attn
            hidden = torch.relu(_layer_norm(x, W[L + "ln2.w"], W[L + "ln2.b"]) @ W[L + "mlp.W_in"] + W[L + "mlp.b_in"])
            if layer == n_layers - 1:
                out["post0"].append(hidden[3])
            x = x + hidden @ W[L + "mlp.W_out"] + W[L + "mlp.b_out"]
        out["logits"].append(x[3] @ W["unembed.W_U"] + W["unembed.b_U"])
        out["sinpe"].append(x_p), out["modulus"].append(pos0)
    return {k: torch.stack(v) for k, v in out.items()}


def _trained_like_state(params, seed=3):
    gen = torch.Generator().manual_seed(seed)
    return {k: v + 0.3 * torch.randn(v.shape, generator=gen) if v.is_floating_point() and v.dim() else v
            for k, v in FAMILY.init_state(params).items()}


def test_forward_equals_the_independent_reference_and_its_hooks():
    params = parse_variant(SPEC).params
    state = {k: v.double() if v.is_floating_point() else v for k, v in _trained_like_state(params).items()}
    model = FAMILY.tl_model(params, state).double()
    gen = torch.Generator().manual_seed(0)
    p = torch.tensor([2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 97, 149])
    a, b = torch.randint(0, 10**6, (2, len(p)), generator=gen) % p.clamp(max=30)  # operand tokens < 30
    tokens = torch.stack([p, a, b, torch.full_like(p, 30)], 1)
    ref = reference(state, tokens, n_layers=2, n_heads=4)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    torch.testing.assert_close(logits[:, 0], ref["logits"], rtol=0, atol=1e-10)
    torch.testing.assert_close(cache["hook_sinpe"], ref["sinpe"], rtol=0, atol=1e-10)
    torch.testing.assert_close(cache["hook_modulus"], ref["modulus"], rtol=0, atol=1e-10)
    torch.testing.assert_close(cache["blocks.1.mlp.hook_post"][:, 0], ref["post0"], rtol=0, atol=1e-10)
    train = FAMILY.train_module(params, state).double()
    torch.testing.assert_close(train(tokens), ref["logits"], rtol=0, atol=1e-10)  # training = analysis model


def test_hand_computed_pieces():
    # SinPE at d = 4, p = 1: [sin 1, cos 1, sin 0.01, cos 0.01] (w_1 = 10000^(-2/4) = 0.01)
    enc = modulus_encoding(torch.tensor([1]), 4, torch.float64)[0]
    torch.testing.assert_close(enc, torch.tensor([math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)],
                                                 dtype=torch.float64))
    params = parse_variant(SPEC).params
    state = _trained_like_state(params)
    model = FAMILY.tl_model(params, state)
    rows = torch.tensor([[13, 2, 5, 30], [13, 7, 1, 30], [13, 2, 6, 30]])
    with torch.no_grad():
        _, cache = model.run_with_cache(rows)
    # position 0 depends on p only; attention is not causal (changing b changes position 1 in layer 0)
    torch.testing.assert_close(cache["hook_modulus"][0], cache["hook_modulus"][1])
    assert not torch.allclose(cache["blocks.0.hook_resid_post"][0, 1], cache["blocks.0.hook_resid_post"][2, 1])
    assert cache["blocks.0.attn.hook_pattern"].shape == (3, 4, 4, 4)
    assert cache["blocks.1.attn.hook_pattern"].shape == (3, 4, 1, 4)  # the last block: the answer query only
    # unmasked: a class >= p wins when its bias is raised
    state["unembed.b_U"][29] += 1e4
    assert (FAMILY.tl_model(params, state)(rows)[:, 0].argmax(-1) == 29).all()


def test_the_memory_map_with_identity_weights():
    """W_mem = W_sur = W_out = I, biases 0: position 0 is z + SiLU(x - z) with z = SiLU(x)."""
    params = parse_variant(SPEC.replace("d_mem=8", "d_mem=16")).params
    state = FAMILY.init_state(params)
    for k in ("memory.W_mem", "memory.W_sur", "memory.W_out"):
        state[k] = torch.eye(16)
    for k in ("memory.b_mem", "memory.b_sur", "memory.b_out"):
        state[k] = torch.zeros_like(state[k])
    model = FAMILY.tl_model(params, state)
    p = torch.tensor([7, 19])
    x = modulus_encoding(p, 16, torch.float32) + p[:, None] * state["sinpe.w_lin"] + state["sinpe.b_lin"]
    z = torch.nn.functional.silu(x)
    torch.testing.assert_close(model.modulus(p), z + torch.nn.functional.silu(x - z))


def test_init_follows_the_study_distributions():
    params = parse_variant("universal_modular:arch=miras,n_layers=2,n_classes=150").params  # the study's size
    state = FAMILY.init_state(params)
    n = sum(v.numel() for k, v in state.items() if not k.startswith("reinforce."))
    assert n == 484_630 - 128  # the study's count less its never-used token row 150
    assert abs(float(state["embed.W_E"].std()) - 1) < 0.02 and abs(float(state["blocks.0.attn.W_Q"].std()) - 128 ** -0.5) < 0.005
    assert float(state["sinpe.w_lin"].abs().max()) <= 1 and float(state["blocks.0.mlp.W_out"].abs().max()) <= 512 ** -0.5
    assert (state["blocks.1.ln2.w"] == 1).all() and (state["memory.b_mem"] == 0).all()


def test_fresh_draw_is_the_study_pool_with_its_curriculum():
    params = parse_variant("universal_modular:max_p=47,arch=miras,n_classes=50,sampling=fresh,fresh_batch=600,"
                           "train_primes=2+3+5+7+11+13+19+29+31,unseen_primes=17+23,curr_primes=5,"
                           "curr_steps=10").params
    draw = fresh_draw(params)
    early, late = draw(10, torch.Generator().manual_seed(0)), draw(11, torch.Generator().manual_seed(0))
    assert sorted(set(early[0][:, 0].tolist())) == [2, 3, 5, 7, 11] and len(early[0]) == 4 + 9 + 25 + 49 + 121
    counts = {p: int((late[0][:, 0] == p).sum()) for p in (2, 3, 5, 7, 11, 13, 19, 29, 31)}
    assert len(late[0]) == 600 and sum(counts.values()) == 600 and counts[29] < counts[19]  # pool 690 + 100 rows
    assert bool((late[1] == (late[0][:, 1] + late[0][:, 2]) % late[0][:, 0]).all()) and (late[0][:, 3] == 50).all()
    again = draw(11, torch.Generator().manual_seed(0))
    assert torch.equal(again[0], late[0])  # a pure function of the step's generator
    data = FAMILY.data(params)
    assert bool(data.train_mask.all()) and set(data.inputs[:, 0].tolist()) == {2, 3, 5, 7, 11, 13, 19, 29, 31}


def test_miras_resume_is_exact_across_the_curriculum_and_reinforce(tmp_path):
    spec = ("universal_modular:max_p=13,arch=miras,n_layers=2,d_model=16,d_mlp=16,train_min=2,"
            "train_max=11,unseen_primes=7,sampling=fresh,all_below=6,pairs_per_p=9,curr_primes=2,"
            "curr_steps=7,objective=reinforce,ce_steps=12")
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert main(["train", spec, "--epochs", "24", "--schedule", "0:25:8", "--store", str(whole), "--quiet"]) == 0
    assert main(["train", spec, "--epochs", "10", "--schedule", "0:11:5", "--store", str(halves), "--quiet"]) == 0
    assert main(["train", spec, "--extra-epochs", "14", "--store", str(halves), "--quiet"]) == 0
    key = RunKey("universal_modular", parse_variant(spec).dir_name)
    a, b = Store(whole).load_checkpoint(key, 24), Store(halves).load_checkpoint(key, 24)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    metrics = Store(whole).read_metrics(key)
    assert np.isnan(metrics["test_loss"]).all() and np.isfinite(metrics["unseen_acc"]).all()
