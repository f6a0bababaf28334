"""Training progress (issue 30 item 3): the bar's label is the run's short label and, at 80 or
120 columns, the percentage, the time estimate and the loss stay visible; progress moves
between checkpoints (status.json, and the bar by fractions of an epoch); a family without a
test split prints no "nan"; a job shows only the progress it made itself."""

from __future__ import annotations

import re

import pytest

from workbench.core.family import plain_log_line
from workbench.core.variant import parse_variant, short_label
from workbench.store import RunKey, Store, jobs
from workbench.training import trainer
from workbench.training.progress import Ticker, postfix
from workbench.training.trainer import plan_training, train

SPEC = "least_action:p=5,model=mlp,hidden_dim=8,frac_train=0.5,n_layers=3,r.weight_decay=0.5,r.grad_clip=2.0"


def _last_bar(err: str) -> str:
    return [seg for seg in re.split(r"[\r\n]", err) if "%|" in seg][-1]


@pytest.mark.parametrize("columns", [80, 120])
def test_the_bar_keeps_percentage_time_estimate_and_loss_visible(tmp_path, capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    store, v = Store(tmp_path / "store"), parse_variant(SPEC)
    assert len(v.spec) > columns - 20  # the whole spec would push the fields off the line
    train(plan_training(v, store, epochs=20, schedule="0:20:10", eval_every=10), store)
    line = _last_bar(capsys.readouterr().err)
    assert len(line) <= columns
    assert "100%|" in line and "20.0/20 [" in line and re.search(r"\[\d\d:\d\d<\d\d:\d\d", line)
    assert "loss " in line and "train " in line and "test " in line
    label, short = line.split(": 100%")[0], short_label(v.family.name, v.dir_name)
    assert "model=mlp" not in short and short.startswith(label.rstrip("…"))  # the default is not named
    assert len(label) >= (12 if columns == 80 else 40)  # cut only to what the width leaves
    assert re.search(r"\|█+\|", line)  # the bar itself is still drawn


def test_short_label_names_what_differs_from_the_family_defaults():
    v = parse_variant("modular_addition:p=97,r.lr=0.003")
    assert short_label(v.family.name, v.dir_name) == "modular_addition:p=97,r.lr=0.003"
    assert short_label("least_action", parse_variant("least_action").dir_name) == "least_action"
    assert short_label("no_such_family", "a=1") == "no_such_family:a=1"


def test_status_and_bar_move_between_checkpoints(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer, "_STATUS_S", 0.0)
    monkeypatch.setattr(trainer, "_TICK_S", 0.0)
    seen: list[tuple[float, object]] = []
    write = Store.write_status
    monkeypatch.setattr(Store, "write_status", lambda self, key, done, total, state, job="train", eta_s=None: (
        seen.append((done, eta_s)), write(self, key, done, total, state, job, eta_s))[-1])
    store = Store(tmp_path / "store")
    v = parse_variant("least_action:p=5,model=mlp,hidden_dim=8,frac_train=0.5,r.batch_size=2")  # 4 steps an epoch
    train(plan_training(v, store, epochs=6, schedule="0:6:6", eval_every=6), store, quiet=True)
    between = [done for done, _ in seen if 0 < done < 6]
    assert between and all(b <= a for b, a in zip(between, between[1:]))  # epochs done, growing, between checkpoints
    assert any(done != int(done) for done in between)  # a run of few epochs counts tenths
    assert all(eta is not None and eta >= 0 for done, eta in seen if 0 < done < 6)
    assert store.read_status(RunKey(*v.key))["done"] == 6 and store.read_status(RunKey(*v.key))["state"] == "done"


def test_ticker_ticks_after_the_step_with_the_steps_done():
    steps, ticks = [], []
    tick = Ticker(lambda i, l, s: steps.append(s), ticks.append, every_s=0.0)
    for s in range(3):
        tick(None, None, s)
    assert steps == [0, 1, 2] and ticks == [1, 2, 3]
    slow = Ticker(lambda i, l, s: None, ticks.append, every_s=3600)
    slow(None, None, 7)
    assert ticks == [1, 2, 3]


def test_no_test_split_prints_no_nan():
    row = {"train_acc": 0.5, "test_acc": float("nan"), "train_loss": 0.1, "test_loss": float("nan")}
    line = plain_log_line(3, row)
    assert "nan" not in line and "Test:   n/a " in line
    assert "nan" not in postfix([row]) and "nan" not in postfix([row, row])
    assert postfix([row]) == "loss 0.1 train 50%"


def test_a_job_shows_only_the_progress_it_made(tmp_path):
    store, key = Store(tmp_path / "store"), RunKey("least_action", "p=5")
    store.write_status(key, 300, 300, "done")  # the training's, before the analyze job
    job = jobs.create(store, "analyze", "least_action:p=5", {"kind": "analyze"}, [f"{key.family}/{key.variant}"])
    assert jobs.take_slots(store, 1) == [job] and jobs.claim(store, job) is not None
    assert next(j for j in jobs.list_jobs(store) if j["id"] == job)["progress"] is None
    store.write_status(key, 2, 5, "running", job="analyze")
    assert next(j for j in jobs.list_jobs(store) if j["id"] == job)["progress"] == (2, 5)
