"""Time one epoch step in the dashboard at p=113: on the server, and fully drawn in the browser.

Builds a synthetic p=113 store (512 neurons x 113 x 113 float16 activations per
checkpoint, every other artifact at its real shape), then measures:

server (callbacks called directly, plus the JSON encoding Dash does before replying):
- default groups, first visit: the open panels at an epoch not shown before;
- default groups, revisit:      the same at an epoch shown before (figure cache hit);
- all groups open, first visit;
- naive baseline: every view, trajectories included, rendered straight from `view_figure`.

browser (`--part browser`; Debian's chromium driven by Playwright, the server a separate
`workbench dashboard` process, as a user runs it): from the arrow key on the epoch slider
until every open per-epoch panel on screen names the new epoch in its title, the
trajectory markers sit on it, the loading state is gone and two animation frames have
passed. Panels off screen wait until they are scrolled to; the third case puts every
open panel on screen (a 9000 px tall window), so that it times redrawing them all. Goals
on the 2-core machine: <= 300 ms median with the default groups, <= 800 ms with all open.

`--against REV` instead times this tree against another commit side by side: two servers
on one store (REV checked out in a temporary git worktree), one browser case (`--ab-case`,
default the 9,000 px one), alternating rounds so that a drifting machine slows both alike;
it prints both medians and their ratio.

Run: .venv/bin/python bench/dashboard_speed.py [--part server|browser|both] [--epochs 12]
     .venv/bin/python bench/dashboard_speed.py --against eea03c0 [--ab-rounds 6] [--ab-case "default groups"]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import plotly.io.json as pjson
import torch

from workbench.query import views
from workbench.store import Store
from workbench.testing.synthetic import synthetic_run
from workbench.ui.dashboard import data, panels
from workbench.ui.dashboard._background import WIDTH, chromium
from workbench.ui.dashboard.groups import GROUPS

P = 113
SERVER_BUDGET_MS = 150.0
BROWSER_GOALS_MS = {"default groups": 300.0, "all groups": 800.0, "all groups, all on screen": 800.0}
# (groups, viewport height): 1000 px shows a screenful; 9000 px puts every open panel on screen, so a
# step redraws all of them (what "all groups" cost before panels off screen waited to be scrolled to)
BROWSER_CASES = {"default groups": ("default", 1000), "all groups": ("all", 1000),
                 "all groups, all on screen": ("all", 9000)}
_clock = time.perf_counter  # --cpu switches to process CPU time (fairer on a shared, busy machine)

# One epoch step, timed in the page: press the key, then poll every animation frame until done.
STEP_JS = """
async (key) => {
  const thumb = document.querySelector('#epoch [role=slider]');
  const readout = () => (document.querySelector('#epoch-readout').innerText.match(/epoch (\\d+)/) || [])[1];
  const before = readout();
  const t0 = performance.now();
  thumb.dispatchEvent(new KeyboardEvent('keydown', {key: key, bubbles: true}));
  const frame = () => new Promise(r => requestAnimationFrame(r));
  const shows = (panel, e) => {
    const t = panel.querySelector(panel.classList.contains('empty') ? '.msg-title' : '.gtitle');
    return t && t.textContent.includes('epoch ' + e);
  };
  const marked = (g, e) => !g.layout || (g.layout.shapes || []).filter(s => s.name === 'current-epoch')
                                                               .every(s => String(s.x0) === e);
  for (let i = 0; i < 3000; i++) {
    await frame();
    const e = readout();
    if (!e || e === before || document.querySelector('#panels').classList.contains('busy')) { continue; }
    const screen = window.workbench.onScreen();  // panels on screen (or near it): the ones a step redraws
    const open = [...document.querySelectorAll('.group.open .panel:not(.not-applicable)')]
                 .filter(p => screen === null || screen.includes(p.id.replace(/^panel-/, '')));
    const epochPanels = open.filter(p => p.classList.contains('per-epoch'));
    const trajectories = open.filter(p => p.classList.contains('trajectory'))
                             .map(p => p.querySelector('.js-plotly-plot')).filter(g => g);
    if (epochPanels.every(p => shows(p, e)) && trajectories.every(g => marked(g, e))) {
      await frame(); await frame();
      return performance.now() - t0;
    }
  }
  return null;
}
"""


def _encode(fig) -> int:
    return len(pjson.to_json_plotly(fig))  # what Dash does to every callback output


def _median(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.1f} ms  (min {min(samples):.1f}, max {max(samples):.1f}, n={len(samples)})"


# ------------------------------------------------------------------------ server side
def _server_step(store, vid, groups: set[str], epoch, drawn: dict) -> tuple[float, dict]:
    t0 = _clock()
    req = panels.make_request(store, vid, epoch, {"neuron": 5, "head": 1})
    outputs, new = panels.update_panels(store, req, groups, drawn)
    _encode([o for o in outputs if isinstance(o, dict)])
    return (_clock() - t0) * 1e3, new


def _naive_change(store, key, epoch) -> float:
    applicable = set(views.run_views(store, key))
    t0 = _clock()
    for group in GROUPS:
        for panel in (p for p in group.panels if p.view in applicable):
            opts = {k: v for k, v in {"neuron": 5, "head": 1}.items() if k in panel.options}
            _encode(views.view_figure(store, key, panel.view, epoch if panel.per_epoch else None, **opts))
    return (_clock() - t0) * 1e3


def _steps(store, vid, groups, epochs) -> tuple[list[float], list[float]]:
    data.clear_caches()
    _, drawn = _server_step(store, vid, groups, epochs[0], {})  # the page's first load: not an epoch change
    first = []
    for e in epochs[1:]:
        ms, drawn = _server_step(store, vid, groups, e, drawn)
        first.append(ms)
    revisit = []
    for e in epochs:
        ms, drawn = _server_step(store, vid, groups, e, drawn)
        revisit.append(ms)
    return first, revisit


def run_server(store: Store, key, rounds: int) -> None:
    vid, epochs = data.variant_id(key), store.checkpoint_epochs(key)
    default = {g.gid for g in GROUPS if g.open}
    first, revisit = _steps(store, vid, default, epochs)
    all_first, _ = _steps(store, vid, {g.gid for g in GROUPS}, epochs)
    naive = [_naive_change(store, key, e) for _ in range(rounds) for e in epochs]
    print(f"server ({'process CPU' if _clock is time.process_time else 'wall clock'}):")
    print(f"  default groups, first visit : {_median(first)}")
    print(f"  default groups, revisit     : {_median(revisit)}")
    print(f"  all groups, first visit     : {_median(all_first)}")
    print(f"  naive baseline (all views)  : {_median(naive)}")
    verdict = "within" if statistics.median(first) <= SERVER_BUDGET_MS else "OVER"
    print(f"  budget {SERVER_BUDGET_MS:.0f} ms: {verdict} ({statistics.median(naive) / statistics.median(first):.1f}x "
          "faster than naive)")


# ----------------------------------------------------------------------- browser side
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"dashboard did not start at {url}")


def _browser_case(page, url: str, groups: list[str], height: int, steps: int) -> list[float]:
    page.set_viewport_size({"width": 1440, "height": height})
    page.goto(f"{url}?groups={','.join(groups)}")
    page.wait_for_function("() => document.querySelectorAll('.group.open .js-plotly-plot .gtitle').length > 0 && "
                           "!document.querySelector('#panels').classList.contains('busy')", timeout=120_000)
    page.wait_for_timeout(1500)  # let the first render settle
    samples = []
    for i in range(steps):
        ms = page.evaluate(STEP_JS, "ArrowLeft" if i < steps // 2 + 1 else "ArrowRight")
        if ms is not None:
            samples.append(ms)
        page.wait_for_timeout(150)
    return samples


def _serve(store: Store, tree: str | None = None) -> tuple[subprocess.Popen, str]:
    """A `workbench dashboard` process on `store`, from this tree or the source tree `tree`; its URL."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=tree) if tree else None
    server = subprocess.Popen([sys.executable, "-m", "workbench", "dashboard", "--store", str(store.root),
                               "--port", str(port)], stdout=subprocess.DEVNULL, cwd=tree, env=env)
    return server, f"http://127.0.0.1:{port}/"


def run_browser(store: Store, chromium_path: str) -> None:
    server, url = _serve(store)
    try:
        _wait_up(url)
        n = len(store.checkpoint_epochs(store.runs()[0]))
        groups = {"default": [g.gid for g in GROUPS if g.open], "all": [g.gid for g in GROUPS]}
        with chromium(chromium_path) as browser:
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
            print("browser (Chromium, fully drawn after an arrow key on the epoch slider):")
            for name, (which, height) in BROWSER_CASES.items():
                samples = _browser_case(page, url, groups[which], height, steps=2 * (n - 1))
                verdict = "within" if samples and statistics.median(samples) <= BROWSER_GOALS_MS[name] else "OVER"
                print(f"  {name:26s}: {_median(samples)}  goal {BROWSER_GOALS_MS[name]:.0f} ms: {verdict}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_against(store: Store, chromium_path: str, rev: str, rounds: int, case: str = "all groups, all on screen") -> None:
    """This tree against commit `rev` on one browser case (BROWSER_CASES), alternating rounds of 12 steps."""
    repo = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="dash_ab_") as tmp:
        tree = str(Path(tmp) / "tree")
        subprocess.run(["git", "-C", repo, "worktree", "add", "--detach", "-q", tree, rev], check=True)
        runs = {"this tree": _serve(store), rev: _serve(store, tree)}
        try:
            for _, url in runs.values():
                _wait_up(url)
            samples: dict[str, list[float]] = {name: [] for name in runs}
            which, height = BROWSER_CASES[case]
            groups = [g.gid for g in GROUPS if which == "all" or g.open]
            with chromium(chromium_path) as browser:
                page = browser.new_page(viewport={"width": WIDTH, "height": height})
                for r in range(rounds):
                    for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                        samples[name] += _browser_case(page, runs[name][1], groups, height, steps=12)
        finally:
            for server, _ in runs.values():
                server.terminate()
                server.wait(timeout=30)
            subprocess.run(["git", "-C", repo, "worktree", "remove", "--force", tree], check=False)
    print(f"{case}, {rounds} alternating rounds (Chromium):")
    for name, ms in samples.items():
        print(f"  {name:12s}: {_median(ms)}  mean {statistics.mean(ms):.1f} ms")
    ours, theirs = (statistics.median(samples[n]) for n in runs)
    print(f"  ratio {rev} / this tree: {theirs / ours:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("server", "browser", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=12, help="checkpoints in the synthetic run")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the epochs for the naive baseline")
    parser.add_argument("--cpu", action="store_true", help="server part: time process CPU instead of wall clock")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--against", metavar="REV", help="time this tree against commit REV side by side (browser)")
    parser.add_argument("--ab-rounds", type=int, default=6, help="alternating rounds for --against")
    parser.add_argument("--ab-case", choices=list(BROWSER_CASES), default="all groups, all on screen",
                        help="the browser case --against times")
    args = parser.parse_args()
    torch.set_num_threads(1)
    global _clock
    _clock = time.process_time if args.cpu else time.perf_counter
    with tempfile.TemporaryDirectory(prefix="dash_bench_") as root:
        store = Store(root)
        t0 = time.perf_counter()
        key = synthetic_run(store, p=P, epochs=[100 * i for i in range(args.epochs)], n_neurons=512, n_heads=4)
        print(f"synthetic p={P} store, {args.epochs} checkpoints, in {time.perf_counter() - t0:.1f}s")
        if args.against:
            run_against(store, args.chromium, args.against, args.ab_rounds, args.ab_case)
            return
        if args.part in ("server", "both"):
            run_server(store, key, args.rounds)
        if args.part in ("browser", "both"):
            run_browser(store, args.chromium)


if __name__ == "__main__":
    main()
