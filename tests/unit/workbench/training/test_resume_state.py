"""Resume state placement: where a loaded optimizer state goes, and the RNG states a CUDA run keeps."""

from __future__ import annotations

import pytest
import torch

from workbench.training import resume as _resume


def _saved_adamw_state() -> tuple[dict[str, torch.Tensor], torch.nn.Parameter]:
    """One real AdamW step on the CPU, saved as the trainer saves it."""
    param = torch.nn.Parameter(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)))
    opt = torch.optim.AdamW([param], lr=1e-3)
    param.grad = torch.ones(4, 3)
    opt.step()
    return _resume.optimizer_tensors(opt, {param: "w"}, None), param


def test_capturable_optimizer_gets_its_step_on_the_param_device_as_float32():
    # torch refuses a capturable step on the CPU, so the parameter lives on the meta
    # device: what matters is that `step` follows the parameter, as a CUDA graph needs
    saved, _ = _saved_adamw_state()
    assert saved["optim.step.w"].device.type == "cpu"
    param = torch.nn.Parameter(torch.empty(4, 3, device="meta"))
    opt = torch.optim.AdamW([param], lr=torch.tensor(1e-3), capturable=True)
    _resume.load_optimizer(opt, {"w": param}, [saved], stacked=False)
    state = opt.state[param]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
    assert all(v.device.type == "meta" for v in state.values())
    assert state["step"].dtype == torch.float32 and state["step"].ndim == 0


@pytest.mark.parametrize("flags", [{"capturable": True}, {"fused": True}, {}])
def test_placement_matches_torchs_own_load_state_dict(flags):
    saved, _ = _saved_adamw_state()
    param = torch.nn.Parameter(torch.empty(4, 3, device="meta"))
    ours = torch.optim.AdamW([param], lr=1e-3, **flags)
    _resume.load_optimizer(ours, {"w": param}, [saved], stacked=False)
    theirs = torch.optim.AdamW([param], lr=1e-3, **flags)
    theirs.load_state_dict({"state": {0: {k.split(".")[1]: v for k, v in saved.items()}},
                            "param_groups": theirs.state_dict()["param_groups"]})
    for field, value in theirs.state[param].items():
        mine = ours.state[param][field]
        assert (mine.device, mine.dtype, mine.shape) == (value.device, value.dtype, value.shape), field


def test_cpu_resume_is_unchanged_and_exact():
    """A plain (non-capturable) AdamW keeps `step` on the CPU and continues bit-identically."""
    saved, param = _saved_adamw_state()
    twin = torch.nn.Parameter(param.detach().clone())
    opt = torch.optim.AdamW([twin], lr=1e-3)
    _resume.load_optimizer(opt, {"w": twin}, [saved], stacked=False)
    assert opt.state[twin]["step"].device.type == "cpu" and float(opt.state[twin]["step"]) == 1.0
    reference = torch.optim.AdamW([param], lr=1e-3)
    reference.load_state_dict({"state": {0: {k.split(".")[1]: v.clone() for k, v in saved.items()}},
                               "param_groups": reference.state_dict()["param_groups"]})
    for p, o in ((param, reference), (twin, opt)):
        p.grad = torch.full((4, 3), 0.5)
        o.step()
    assert torch.equal(param, twin)


def test_stacked_members_stack_moments_and_share_the_scalar_step():
    a, _ = _saved_adamw_state()
    b = {k: v * 2 if v.ndim else v for k, v in a.items()}
    param = torch.nn.Parameter(torch.zeros(2, 4, 3))
    opt = torch.optim.AdamW([param], lr=1e-3)
    _resume.load_optimizer(opt, {"w": param}, [a, b], stacked=True)
    assert torch.equal(opt.state[param]["exp_avg"], torch.stack([a["optim.exp_avg.w"], b["optim.exp_avg.w"]]))
    assert opt.state[param]["step"].ndim == 0


def test_a_cpu_run_saves_no_rng_state_and_restore_ignores_its_absence():
    assert _resume.rng_tensors("cpu") == {}
    before = torch.get_rng_state()
    _resume.restore_rng({"optim.step.w": torch.tensor(1.0)}, "cpu")  # an old or CPU resume file
    assert torch.equal(torch.get_rng_state(), before)


def test_saved_cpu_rng_state_is_restored():
    saved = {"rng.cpu": torch.get_rng_state()}
    expected = torch.rand(3)
    torch.rand(5)  # move the global generator on
    _resume.restore_rng(saved, "cpu")
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_rng_state_round_trips():
    saved = _resume.rng_tensors("cuda")
    assert set(saved) == {"rng.cpu", "rng.cuda"}
    expected = torch.rand(3, device="cuda")
    torch.rand(5, device="cuda")
    _resume.restore_rng(saved, "cuda")
    assert torch.equal(torch.rand(3, device="cuda"), expected)
