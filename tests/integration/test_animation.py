"""Animated export (issue 30): `workbench render VARIANT --view V --epochs A:B --out f.gif|f.mp4`
draws a per-epoch view at every analyzed checkpoint in the range, one frame each, all the same
size; anything wrong (a whole-run view, a bad range or suffix, a missing package) is one line,
exit 2, before a frame is drawn, and nothing is written."""

from __future__ import annotations

import importlib.util
import shutil
import struct

import pytest

from workbench.analysis.pipeline import analyze
from workbench.api import load_variant
from workbench.cli import main
from workbench.core.variant import parse_variant
from workbench.store import Store
from workbench.training.trainer import plan_training, train
from workbench.ui.animation import SIZE, animation_epochs, animation_frames

SPEC = "modular_addition:p=7,frac_train=0.5"
VIEW = "embedding_fourier"
needs_chromium = pytest.mark.skipif(not shutil.which("chromium") or not importlib.util.find_spec("kaleido"),
                                    reason="frames are drawn with kaleido and Chromium")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("anim") / "store")
    train(plan_training(parse_variant(SPEC), s, epochs=55, schedule="0:55:5", eval_every=5), s, quiet=True)
    analyze(SPEC, s, analyzers=VIEW, quiet=True)
    return s


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@needs_chromium
def test_ten_checkpoints_make_ten_frames_of_one_size(store):
    v = load_variant(SPEC, store=store.root)
    epochs = animation_epochs(v, VIEW, (5, 50))
    assert epochs == list(range(5, 51, 5))  # 10 checkpoints, both ends included
    frames = animation_frames(v, VIEW, epochs, {})
    assert len(frames) == 10 and {_png_size(f) for f in frames} == {SIZE}
    assert len(set(frames)) == 10  # each frame is its own epoch's


@needs_chromium
@pytest.mark.skipif(not importlib.util.find_spec("imageio"), reason="GIF writing needs imageio (the export extra)")
def test_render_writes_a_ten_frame_gif(store, tmp_path, capsys):
    import imageio.v3 as iio

    out = tmp_path / "emb.gif"
    assert main(["render", SPEC, "--view", VIEW, "--epochs", "5:50", "--out", str(out), "--store", str(store.root)]) == 0
    assert "10 frames" in capsys.readouterr().out
    pictures = iio.imread(out, index=None)
    assert pictures.shape[0] == 10 and pictures.shape[1:3] == (SIZE[1], SIZE[0])


@needs_chromium
@pytest.mark.skipif(not importlib.util.find_spec("imageio_ffmpeg"), reason="MP4 needs imageio-ffmpeg (export extra)")
def test_render_writes_a_ten_frame_mp4(store, tmp_path, capsys):
    import imageio_ffmpeg

    out = tmp_path / "emb.mp4"
    argv = ["render", SPEC, "--view", VIEW, "--epochs", "5:50", "--fps", "5", "--out", str(out), "--store", str(store.root)]
    assert main(argv) == 0 and "10 frames" in capsys.readouterr().out
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 10 and seconds == pytest.approx(2.0, abs=0.05)
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary file left


@pytest.mark.skipif(importlib.util.find_spec("imageio") is not None, reason="imageio is installed")
def test_without_imageio_the_error_names_the_extra(store, tmp_path, capsys):
    out = tmp_path / "emb.gif"
    assert main(["render", SPEC, "--view", VIEW, "--out", str(out), "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert "imageio" in err and "[export]" in err and len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("argv, problem", [
    (["--view", "loss_curves", "--out", "a.gif"], "whole run"),
    (["--view", VIEW, "--epochs", "5:50", "--out", "a.png"], "give --out a .gif or .mp4"),
    (["--view", VIEW, "--epoch", "5", "--out", "a.gif"], "--epochs A:B"),
    (["--view", VIEW, "--epochs", "50:5", "--out", "a.gif"], "expected A:B"),
    (["--view", VIEW, "--epochs", "x", "--out", "a.gif"], "expected A:B"),
    (["--view", VIEW, "--epochs", "20:20", "--out", "a.gif"], "needs 2 or more"),
    (["--view", VIEW, "--fps", "0", "--out", "a.gif"], "--fps 0"),
])
def test_bad_requests_are_one_line_and_write_nothing(store, tmp_path, capsys, monkeypatch, argv, problem):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("workbench.ui.animation._imageio", lambda suffix: None)  # checked as if installed
    assert main(["render", SPEC, *argv, "--store", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert problem in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("a.*"))
