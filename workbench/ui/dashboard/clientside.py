"""Callbacks that run in the browser: no round trip for what the browser already knows.

- the epoch readout, and the jump to a clicked trajectory point (snapped to a checkpoint);
- a click on a point of a view that declares `click=<option>` sets that option's control;
- a value typed into an option control is clamped to the run's range, with a note (`options.CLAMP_JS`);
- a group header opens or closes its group (the server then draws only what became visible);
- the page state is written into the URL (`history.replaceState`; the shell wires it from the
  pages' declared state), and the nav links keep it;
- which panels are on screen (an IntersectionObserver writes the `visible` store), so an
  epoch step renders only those and a panel scrolled into view is rendered then;
- per-figure and batch export: PNG/SVG through Plotly.downloadImage, HTML from the server's
  /export routes, under the canonical file names the server put in `drawn`. A batch export
  first asks for every open panel (visible = "*"), then exports when `drawn` comes back.

The helpers live in one script, `JS`, that the app puts in every page it serves.
"""

from __future__ import annotations

import json

from dash import ALL, Input, Output, State

from workbench.ui.dashboard import options
from workbench.ui.dashboard.groups import GROUPS, PANELS, panel_id

__all__ = ["JS", "register"]

JS = r"""
window.workbench = (function () {
  const no = () => window.dash_clientside.no_update;
  const finite = v => (typeof v === "number" && isFinite(v)) ? v : null;
  const triggered = () => (window.dash_clientside.callback_context.triggered || [])[0] || {};

  function clickValue(click) {
    const pt = click && click.points && click.points[0];
    if (!pt) { return null; }
    let c = pt.customdata;
    if (Array.isArray(c)) { c = c[0]; } else if (c && typeof c === "object") { c = c["0"]; }
    c = finite(c);
    return c === null || c < 0 ? null : Math.round(c);
  }
  function nearestIndex(epochs, e) {
    let best = null, gap = Infinity;
    epochs.forEach((x, i) => { const d = Math.abs(x - e); if (d < gap) { gap = d; best = i; } });
    return best;
  }
  function prefix() {
    try { return JSON.parse(document.getElementById("_dash-config").textContent).requests_pathname_prefix || "/"; }
    catch (err) { return "/"; }
  }
  function download(href, name) {
    const a = document.createElement("a");
    a.href = href; a.download = name; document.body.appendChild(a); a.click(); a.remove();
  }
  function gif(view, drawn, name) {
    // drawn on the server (one frame per analyzed checkpoint: seconds to minutes); fetched, so that a
    // refusal (imageio missing, too few checkpoints) shows as a note instead of a saved error page
    const note = document.querySelector("#gif-note");
    const say = text => { if (note) { note.innerText = text; } };
    say("drawing " + view + " over every analyzed checkpoint…");
    const q = new URLSearchParams(Object.assign({view: view, epochs: ":"}, drawn._query));
    return fetch(prefix() + "export/animation?" + q).then(r => r.ok
      ? r.blob().then(b => { download(URL.createObjectURL(b), name); say(name + " saved"); })
      : r.text().then(t => say(t.trim())));
  }
  function image(view, fmt, name) {
    const gd = document.querySelector("#fig-" + view + " .js-plotly-plot");
    if (!gd || !gd._fullLayout) { return Promise.resolve(); }
    return Plotly.downloadImage(gd, {format: fmt, filename: name, width: gd._fullLayout.width,
                                     height: gd._fullLayout.height, scale: fmt === "png" ? 2 : 1});
  }
  const MARGIN = "300px 0px";  // panels this close to the screen count as on it (drawn before they show)
  const onScreen = new Set();
  let observer = null, timer = null, last = null, exporting = false;
  function report() {
    timer = null;
    if (exporting) { return; }  // a batch export asked for every panel: scrolling must not take that back
    const now = JSON.stringify([...onScreen].sort());
    if (now !== last) { last = now; window.dash_clientside.set_props("visible", {data: JSON.parse(now)}); }
  }
  function shown(drawn, view) {
    const entry = drawn && drawn[view];
    const panel = document.getElementById("panel-" + view);
    return entry && entry.name && panel && !panel.classList.contains("empty") && panel.offsetParent !== null;
  }

  return {
    readout: function (index, info) {
      const e = info && info.epochs ? info.epochs[index] : undefined;
      if (e === undefined) { return "no checkpoints yet"; }
      const t = finite(info.turn);
      if (t === null) { return "epoch " + e + (info.marked === false ? " · turn not analyzed yet" : " · no turn detected"); }
      if (e === t) { return "epoch " + e + " · the turn"; }
      // the turn is rarely a checkpoint: its slider mark is the nearest one, and says so when shown
      if (nearestIndex(info.epochs, t) === index) { return "epoch " + e + " · the checkpoint nearest the turn at " + t; }
      return "epoch " + e + " · turn at " + t;
    },
    clickEpoch: function () {
      const info = arguments[arguments.length - 1];
      const e = clickValue(triggered().value);
      if (e === null || !info || !info.epochs || !info.epochs.length) { return no(); }
      return nearestIndex(info.epochs, e);
    },
    clickIndex: function () {
      const v = clickValue(triggered().value);  // the control's clamp then holds it to the run's range
      return v === null ? no() : v;
    },
    clampIndex: %(clamp)s,
    toggleGroup: function () {
      const groups = Array.isArray(arguments[arguments.length - 1]) ? arguments[arguments.length - 1] : [];
      const id = (triggered().prop_id || "").split(".")[0].replace(/^toggle-/, "");
      if (!id) { return no(); }
      return groups.includes(id) ? groups.filter(g => g !== id) : groups.concat([id]);
    },
    groupClasses: function (groups, info, ids) {
      // a group none of whose views apply to the run's family is hidden (info.groups: those that apply)
      const open = Array.isArray(groups) ? groups : [];
      const shown = info && Array.isArray(info.groups) ? info.groups : ids;
      return ids.map(id => (open.includes(id) ? "group open" : "group closed") + (shown.includes(id) ? "" : " hidden"));
    },
    writeUrl: function (fields, paths, path, ...values) {
      // fields: [key, kind, default] per URL entry (pages.StateField), values in the same order; an
      // "epoch" entry takes two: the slider position and the store listing the epochs at each position
      const q = new URLSearchParams();
      let i = 0;
      fields.forEach(([key, kind, fallback]) => {
        const v = values[i++];
        if (kind === "epoch") {
          const info = values[i++], e = info && info.epochs ? info.epochs[v] : undefined;
          if (e !== undefined) { q.set(key, e); }
        } else if (fallback !== null && v === fallback) {  // reads back as the default anyway
        } else if (kind === "int") { if (finite(v) !== null) { q.set(key, v); } }
        else if (kind === "csv") { if (Array.isArray(v)) { q.set(key, v.join(",")); } }
        else if (kind === "list") { (Array.isArray(v) ? v : []).forEach(x => q.append(key, x)); }
        else if (typeof v === "string" && v) { q.set(key, v); }
      });
      const search = "?" + q.toString().replace(/%2F/g, "/").replace(/%2C/g, ",").replace(/%3D/g, "=");
      // the page shown is `path` (a row click moves it without the address bar following)
      const where = (typeof path === "string" && path ? path : window.location.pathname);
      if (window.location.search !== search || window.location.pathname !== where) {
        window.history.replaceState(window.history.state, "", where + search);
      }
      return [search, ...paths.map(p => p + search)];
    },
    exportOne: function (clicks, drawn) {
      const id = window.dash_clientside.callback_context.triggered_id;
      if (!id || !drawn || !drawn[id.view] || !clicks.some(n => n)) { return no(); }
      const entry = drawn[id.view];
      if (id.fmt === "gif") { gif(id.view, drawn, entry.name.replace(/_epoch[0-9]+$/, "") + "_animated.gif"); }
      else if (id.fmt === "html") {
        download(prefix() + "export/figure?" + new URLSearchParams(Object.assign({view: id.view}, drawn._query)),
                 entry.name + ".html");
      } else { image(id.view, id.fmt, entry.name); }
      return id.view + "." + id.fmt;
    },
    watchPanels: function () {
      // Report the panels on screen (or within a margin of it) to the "visible" store, so the
      // server renders only those on an epoch step; one scrolled into view is asked for then.
      if (!observer) {
        observer = new IntersectionObserver(entries => {
          entries.forEach(e => { const v = e.target.id.replace(/^panel-/, "");
                                 if (e.isIntersecting) { onScreen.add(v); } else { onScreen.delete(v); } });
          if (timer === null) { timer = setTimeout(report, 60); }
        }, {rootMargin: MARGIN});
        document.querySelectorAll("#panels .panel").forEach(p => observer.observe(p));
      }
      return no();
    },
    onScreen: function () { return observer ? [...onScreen].sort() : null; },
    requestExport: function (fmt) {
      // every open panel must be drawn first: ask for all ("*"), with a stamp the answer echoes
      exporting = true;
      const stamp = String(Date.now());
      window.dash_clientside.set_props("visible", {data: ["*", stamp]});
      return {fmt: fmt, stamp: stamp};
    },
    exportPending: async function (drawn, pending, views) {
      if (!pending || !drawn || drawn._all !== pending.stamp) { return no(); }  // not the answer asked for
      const fmt = pending.fmt;
      const frame = () => new Promise(r => requestAnimationFrame(r));
      for (let i = 0; i < 600 && document.querySelector("#panels .dash-graph--pending"); i++) { await frame(); }
      const open = views.filter(v => shown(drawn, v));
      if (open.length && fmt === "html") {
        const q = new URLSearchParams(Object.assign({views: open.join(",")}, drawn._query));
        download(prefix() + "export/panels?" + q, drawn._name + ".html");
      } else {
        for (const v of open) {  // spaced out: Chromium drops a download that lands on another's heels
          await image(v, fmt, drawn[v].name);
          await new Promise(r => setTimeout(r, 150));
        }
      }
      exporting = false; last = null; report();  // back to what is on screen
      window.dash_clientside.set_props("export-done", {data: open.length ? open.length + " " + fmt : "nothing to export"});
      return null;
    },
  };
})();
""".replace("%(clamp)s", options.CLAMP_JS.strip())


def _register_selection(app) -> None:
    traj = [v for v, (_, p) in PANELS.items() if p.click == "epoch"]
    app.clientside_callback(  # the picker shows short labels; the full parameter string goes below it
        "function (v, options) { const o = (options || []).find(o => o.value === v); return o ? o.title : ''; }",
        Output("variant-readout", "children"), Input("variant", "value"), State("variant", "options"))
    app.clientside_callback("window.workbench.readout", Output("epoch-readout", "children"),
                            Input("epoch", "value"), Input("epochs", "data"))
    app.clientside_callback("window.workbench.clickEpoch", Output("epoch", "value", allow_duplicate=True),
                            *[Input(panel_id(v), "clickData") for v in traj], State("epochs", "data"),
                            prevent_initial_call=True)
    for option in (o for o in options.CONTROLS if o.kind == "index"):
        cid = options.control_id(option)
        sources = [v for v, (_, p) in PANELS.items() if p.click == option.key]  # as each view declares
        if sources:
            app.clientside_callback("window.workbench.clickIndex", Output(cid, "value", allow_duplicate=True),
                                    *[Input(panel_id(v), "clickData") for v in sources], prevent_initial_call=True)
        app.clientside_callback(
            "function (v, r) { return window.workbench.clampIndex(v, r, %s, %s); }"
            % (json.dumps(option.key), json.dumps(option.default)),
            Output(cid, "value", allow_duplicate=True), Output(f"{cid}-note", "children"),
            Input(cid, "value"), Input("option-ranges", "data"), prevent_initial_call=True)


def _register_groups(app) -> None:
    ids = [g.gid for g in GROUPS]
    app.clientside_callback("window.workbench.toggleGroup", Output("groups", "data", allow_duplicate=True),
                            *[Input(f"toggle-{g}", "n_clicks") for g in ids], State("groups", "data"),
                            prevent_initial_call=True)
    app.clientside_callback(
        "function (groups, info) { return window.workbench.groupClasses(groups, info, %s); }"
        % str(ids).replace("'", '"'), *[Output(f"group-{g}", "className") for g in ids], Input("groups", "data"),
        Input("epochs", "data"))


def register(app) -> None:
    """Attach the browser-side callbacks of the explore page and its export."""
    _register_selection(app)
    _register_groups(app)
    app.clientside_callback("window.workbench.exportOne", Output("export-done", "data"),
                            Input({"type": "export", "view": ALL, "fmt": ALL}, "n_clicks"), State("drawn", "data"),
                            prevent_initial_call=True)
    views = str(list(PANELS)).replace("'", '"')
    for fmt in ("png", "svg", "html"):
        app.clientside_callback(
            "function (n) { return window.workbench.requestExport('%s'); }" % fmt,
            Output("export-pending", "data", allow_duplicate=True), Input(f"export-all-{fmt}", "n_clicks"),
            prevent_initial_call=True)
    app.clientside_callback(
        "function (drawn, fmt) { return window.workbench.exportPending(drawn, fmt, %s); }" % views,
        Output("export-pending", "data", allow_duplicate=True), Input("drawn", "data"), State("export-pending", "data"),
        prevent_initial_call=True)
    app.clientside_callback("window.workbench.watchPanels", Output("visible", "data", allow_duplicate=True),
                            Input("groups", "data"), prevent_initial_call="initial_duplicate")
