"""Issue 30: the dashboard's GIF button, server side: /export/animation animates a per-epoch panel
through the CLI's own `workbench.ui.animation.animate` (no second implementation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.errors import UserError
from workbench.ui.dashboard import export


def test_the_gif_is_the_clis_animation_of_the_panel(store, vid, monkeypatch):
    seen = {}

    def fake(handle, view, out, span, options=None, **_):
        seen.update(view=view, span=span, options=options, spec=handle.spec)
        Path(out).write_bytes(b"GIF89a-frames")
        return str(out), 3

    monkeypatch.setattr(export, "animate", fake)
    name, body = export.animation_gif(store, {"variant": vid, "view": "neuron_heatmap", "epochs": "100:300",
                                              "neuron": "3"})
    assert body == b"GIF89a-frames" and name.endswith("_neuron_heatmap_animated.gif")
    assert seen["view"] == "neuron_heatmap" and seen["span"] == (100, 300) and seen["options"]["neuron"] == 3
    _, _ = export.animation_gif(store, {"variant": vid, "view": "neuron_heatmap"})
    assert seen["span"] == (0, 2**62)  # no range: every analyzed checkpoint


@pytest.mark.parametrize("args, message", [
    ({"view": "loss_curves"}, "not a per-epoch view"),
    ({"view": "neuron_heatmap", "epochs": "9:1"}, "expected A:B"),
])
def test_a_gif_of_what_cannot_be_animated_is_refused(store, vid, args, message):
    with pytest.raises(UserError, match=message):
        export.animation_gif(store, {"variant": vid, **args})


def test_the_route_says_what_is_missing_instead_of_a_file(store, vid, monkeypatch):
    from flask import Flask

    def refuse(*_, **__):
        raise UserError("GIF/MP4 export needs imageio")

    monkeypatch.setattr(export, "animate", refuse)
    server = Flask("t")
    export.register(server, store)
    answer = server.test_client().get("/export/animation", query_string={"variant": vid, "view": "neuron_heatmap"})
    assert answer.status_code == 404 and "needs imageio" in answer.get_data(as_text=True)
