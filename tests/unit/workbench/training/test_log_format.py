"""`workbench train --log-format plain`: one line per evaluation instead of the progress bar,
the family's own `format_log_line` where it has one (the least-action study's), else the
trainer's generic line."""

from workbench.core.variant import parse_variant
from workbench.store import Store
from workbench.training.trainer import plain_log_line, plan_training, train


def test_plain_log_format_prints_the_family_line_per_evaluation(tmp_path, capsys):
    store, v = Store(tmp_path / "store"), parse_variant("least_action:p=5,model=mlp,hidden_dim=8,frac_train=0.5")
    train(plan_training(v, store, epochs=20, schedule="0:20:10", eval_every=10), store, log_format="plain")
    out = capsys.readouterr()
    lines = [ln for ln in out.out.splitlines() if ln.startswith("Epoch")]
    assert [ln[:12] for ln in lines] == ["Epoch      0", "Epoch     10", "Epoch     20"]
    assert all(", wnorm=" in ln and ", smooth=" in ln and "| Loss: " in ln for ln in lines)
    assert "ep/s" not in out.err and "it/s" not in out.err  # no progress bar


def test_generic_plain_line_lists_any_further_metrics():
    row = {"train_acc": 0.5, "test_acc": 0.25, "train_loss": 0.1, "test_loss": 0.2, "x": 1.5}
    assert plain_log_line(7, row) == "Epoch      7 | Train:  50.0% | Test:  25.0% | Loss: 1.00e-01, x=1.5"
