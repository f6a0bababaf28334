"""Stepping through checkpoints on the explore page: play, live drag, and keys anywhere (issue 30 item 5).

- a play button steps the epoch slider one checkpoint at a time at a chosen rate; a step waits
  while the panels still render the last one, so playing never queues requests faster than the
  server answers (the per-epoch step is the pace, at most the chosen rate);
- dragging the slider's thumb moves the epoch while it is dragged (its `drag_value`), throttled
  the same way: a position reached while the panels render is skipped, and the release lands
  on the last one;
- a click on a mark's label lands on that mark's checkpoint (the turn's mark: the checkpoint
  nearest the turn, which the readout then names as such);
- keys work anywhere on the page except while typing in a box: ←/→ one checkpoint, Home/End the
  first and last, space play/pause, n/N the next/previous neuron (whichever index box is shown),
  ? this list in an overlay (Esc closes it). On the slider's own thumb the arrows are its own.

All of it runs in the browser (`JS`, put in every page by the app): the server sees only the
epoch changes it would see from the slider.
"""

from __future__ import annotations

from dash import Input, Output, State, dcc, html

__all__ = ["JS", "KEYS", "RATES", "controls", "hint", "overlay", "register"]

RATES = (0.5, 1, 2, 4)  # checkpoints a second the play button offers
KEYS = (("← / →", "previous / next checkpoint"), ("Home / End", "first / last checkpoint"),
        ("space", "play / pause"), ("n / N", "next / previous neuron"), ("?", "show / hide this list"))

JS = r"""
window.wbPlay = (function () {
  const set = (id, props) => window.dash_clientside.set_props(id, props);
  const thumb = () => document.querySelector("#epoch [role=slider]");
  const busy = () => { const p = document.getElementById("panels"); return !!p && p.classList.contains("busy"); };
  const shown = () => { const p = document.getElementById("page-explore"); return !!p && !p.classList.contains("hidden"); };
  let timer = null, rate = 1, lastDrag = 0;
  function position() {
    const t = thumb();
    if (!t) { return null; }
    return {at: Number(t.getAttribute("aria-valuenow")), max: Number(t.getAttribute("aria-valuemax"))};
  }
  function go(where) {  // where: a position, or a function of the current one
    const p = position();
    if (!p || !isFinite(p.at) || !isFinite(p.max)) { return false; }
    const next = Math.max(0, Math.min(p.max, typeof where === "function" ? where(p) : where));
    if (next === p.at) { return false; }
    set("epoch", {value: next});
    return true;
  }
  function label() { return timer === null ? "▶ play" : "❚❚ pause"; }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    set("play", {children: label()});
  }
  function tick() {
    if (busy()) { return; }  // the last step is still rendering: wait for it
    if (!go(p => p.at + 1)) { stop(); }  // the last checkpoint: done
  }
  function start() {
    const p = position();
    if (!p || !(p.max > 0)) { return; }
    if (p.at >= p.max) { go(0); }  // from the end: start again at the first checkpoint
    timer = setInterval(tick, 1000 / rate);
    set("play", {children: label()});
  }
  function toggle() { if (timer === null) { start(); } else { stop(); } return label(); }
  function setRate(r) {
    rate = (typeof r === "number" && r > 0) ? r : 1;
    if (timer !== null) { clearInterval(timer); timer = setInterval(tick, 1000 / rate); }
    return window.dash_clientside.no_update;
  }
  function drag(value, current) {
    // live drag: follow the thumb unless the panels are still rendering (or a step went out < 80 ms ago).
    // Not a value the slider already holds: an arrow key on the thumb sets both its value and its
    // drag value, and setting the same value again sent the whole epoch step to the server twice
    const now = Date.now();
    if (typeof value !== "number" || value === current || busy() || now - lastDrag < 80) {
      return window.dash_clientside.no_update;
    }
    lastDrag = now;  // (the thumb's own position already follows the drag: compare nothing with it)
    return value;
  }
  function nudge(delta) {  // the shown index box (neuron, or a rank among the top neurons)
    const box = [...document.querySelectorAll("#explore-controls input[type=number]")].find(b => b.offsetParent !== null);
    if (!box) { return; }
    const v = Number(box.value);
    set(box.id, {value: Math.max(0, (isFinite(v) ? v : 0) + delta)});
  }
  function help(show) {
    const o = document.getElementById("keys-help");
    if (o) { o.classList.toggle("on", show === undefined ? !o.classList.contains("on") : show); }
  }
  function typing(t) {
    // a box that takes text (not a radio button or checkbox just clicked), or a dropdown's search
    const box = t && t.tagName === "INPUT" && !/^(radio|checkbox|button|range)$/.test(t.type);
    return !!t && (box || t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName) || !!(t.closest && t.closest(".dash-dropdown")));
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || !shown() || typing(e.target)) { return; }
    const onThumb = e.target && e.target.getAttribute && e.target.getAttribute("role") === "slider";
    const k = e.key;
    if (k === "?") { help(); }
    else if (k === "Escape") { help(false); return; }
    else if (onThumb && /^(ArrowLeft|ArrowRight|Home|End)$/.test(k)) { return; }  // the slider's own keys
    else if (k === "ArrowLeft") { go(p => p.at - 1); }
    else if (k === "ArrowRight") { go(p => p.at + 1); }
    else if (k === "Home") { go(0); }
    else if (k === "End") { go(p => p.max); }
    else if (k === " ") { toggle(); }
    else if (k === "n") { nudge(1); }
    else if (k === "N") { nudge(-1); }
    else { return; }
    e.preventDefault();
  }
  function onMark(e) {
    // a click on a slider mark's label lands on that mark's checkpoint. The slider maps a click on
    // its track over the whole width, but draws marks inset by half a thumb, so a click on the
    // turn's label landed on the next checkpoint (issue 30 item 5).
    const m = e.target && e.target.closest && e.target.closest("#epoch .dash-slider-mark");
    const pct = m && /left:\s*calc\(([\d.]+)%/.exec(m.getAttribute("style") || "");
    const p = pct && position();
    if (!p || !isFinite(p.max)) { return; }
    e.preventDefault(); e.stopPropagation();
    go(Math.round(Number(pct[1]) / 100 * p.max));
  }
  document.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", onMark, true);
  return {toggle: toggle, setRate: setRate, drag: drag, playing: () => timer !== null};
})();
"""


def controls() -> html.Div:
    """The play button, its rate, and the pointer to the keys overlay (under the epoch slider)."""
    return html.Div(className="play-row", children=[
        html.Button("▶ play", id="play", n_clicks=0, title="step through the checkpoints (space)"),
        dcc.RadioItems(id="play-rate", options=[{"label": f"{r:g}", "value": r} for r in RATES], value=1,
                       inline=True, className="play-rate"),
        html.Span("/s", className="keys-hint", title="checkpoints a second"),
        dcc.Store(id="play-rate-set"),
    ])


def hint() -> html.Div:
    """One line pointing at the keys (the sidebar has no room for them all)."""
    return html.Div("Keys: ←/→ epoch, space play, ? all keys", className="readout keys-hint")


def overlay() -> html.Div:
    """The `?` overlay listing the keys (hidden until ? is pressed)."""
    rows = [html.Tr([html.Td(html.Kbd(k)), html.Td(what)]) for k, what in KEYS]
    return html.Div(id="keys-help", children=[
        html.Div("Keyboard shortcuts (anywhere on the page, except while typing in a box)", className="msg-title"),
        html.Table(rows), html.Div("Esc or ? closes this.", className="readout")])


def register(app) -> None:
    """Wire the play button, its rate and the live drag to `window.wbPlay`."""
    app.clientside_callback("function (n) { return window.wbPlay.toggle(); }", Output("play", "children"),
                            Input("play", "n_clicks"), prevent_initial_call=True)
    app.clientside_callback("function (r) { return window.wbPlay.setRate(r); }", Output("play-rate-set", "data"),
                            Input("play-rate", "value"))
    app.clientside_callback("function (v, current) { return window.wbPlay.drag(v, current); }",
                            Output("epoch", "value", allow_duplicate=True), Input("epoch", "drag_value"),
                            State("epoch", "value"), prevent_initial_call=True)
