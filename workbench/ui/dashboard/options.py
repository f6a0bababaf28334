"""The explore page's controls, one per view option that views declare (workbench.core.view.ViewOption).

Nothing here names an option: a view that declares an index or a choice option gets a
control in the sidebar (shown while some view of the selected run takes it), an entry
in the URL, its value in every request for the panels that take it, and, if the view
declares `click=<option>`, a click on its points sets it. A run's range for each control
comes from what the declaration names: the length of an artifact axis in the sources of
the views that take it, or a capability of the run's family.

An out-of-range value is clamped to the range: the box then shows the value the panels
show, and a note under it says what was asked for (`CLAMP_JS`, in the browser, for a value
typed, clicked or read from the URL). The server clamps by the same rule (`clamp`),
silently, whatever the browser sends.
"""

from __future__ import annotations

import math
from typing import Any

from dash import dcc, html

from workbench.core.analyzer import get_analyzer
from workbench.core.view import ViewOption, get_view, list_options, list_views
from workbench.query.views import run_capabilities, run_names, run_views
from workbench.store import RunKey, Store
from workbench.ui.dashboard import data
from workbench.ui.dashboard.pages import StateField
from workbench.ui.dashboard.values import as_number, select_index

__all__ = ["CONTROLS", "control_id", "view_controls", "state_fields", "ranges", "asked", "clamp", "request_values",
           "render_values", "control", "name_options", "CLAMP_JS"]

# every control: the indices, then the choices, each in the order views declared them
CONTROLS: tuple[ViewOption, ...] = tuple(sorted(list_options(control=True).values(), key=lambda o: o.kind != "index"))
_BY_KEY = {o.key: o for o in CONTROLS}  # option key -> declaration


def control_id(option: ViewOption) -> str:
    """The id of the option's input component (its label, note and box derive from it)."""
    return f"opt-{option.key}"


def view_controls(view: str) -> tuple[str, ...]:
    """The keys of the controls a view's panel follows (those of its options that have one)."""
    return tuple(o.key for o in get_view(view).options if o.control)


def state_fields() -> tuple[StateField, ...]:
    """The URL entries of the controls: an index as a number, a choice as one of its values."""
    return tuple(StateField(o.key, control_id(o), "value", "int" if o.kind == "index" else "str", o.choices,
                            default=o.default) for o in CONTROLS)


# ----------------------------------------------------------------------- ranges per run
def _axis_length(store: Store, key: RunKey, option: ViewOption, views: list[str], done: set[str]) -> int | None:
    """The length of the option's axis in the latest artifact of the first source (of `views`)
    that declares an output over it first."""
    sources = dict.fromkeys(s for v in views for s in get_view(v).sources if s in done)
    for name in sources:
        outputs = [o for o, dims in get_analyzer(name).outputs.items() if dims[:1] == (option.axis,)]
        found = store.artifact_epochs(key, name) if outputs else []
        arrays = data.artifact(store, key, name, found[-1]) if found else None
        shape = getattr(arrays.get(outputs[0]), "shape", ()) if arrays else ()
        if shape:
            return int(shape[0])
    return None


def _capability(store: Store, key: RunKey, path: str) -> Any:
    value: Any = run_capabilities(store, key) or {}
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _range(store: Store, key: RunKey, option: ViewOption, views: list[str], done: set[str]) -> Any:
    """An index's n (None: unknown), a choice's list of values, or the names the run offers a name option."""
    if option.kind == "choice":
        return list(option.choices)
    if option.kind == "name":
        return run_names(store, key, option.names)
    if option.axis:
        return _axis_length(store, key, option, views, done)
    found = _capability(store, key, option.capability) if option.capability else None
    if isinstance(found, list):
        return len(found)
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def ranges(store: Store, key: RunKey) -> dict[str, Any]:
    """{key: range} for each control that some view applying to the run takes (the others are hidden)."""
    applies = run_views(store, key)
    done = set(store.analyzers_done(key))  # listed once: this runs on every epoch step
    out = {}
    for option in CONTROLS:
        views = [v for v in applies if option.key in view_controls(v)]
        if views:
            out[option.key] = _range(store, key, option, views, done)
    return out


# ------------------------------------------------------------------------ values
def asked(option: ViewOption, value: object) -> Any:
    """What the control is to hold for what was asked (`value`, untrusted): a number, not yet
    clamped (the browser clamps it with a note), or one of a choice's values; else the default."""
    if option.kind == "choice":
        return value if value in option.choices else option.default
    if option.kind == "name":
        return value if isinstance(value, str) and value else option.default
    number = as_number(value)
    return option.default if number is None else number


def clamp(option: ViewOption, value: object, bound: Any) -> Any:
    """The value the panels show for what was asked (`value`, untrusted): an index rounded and
    clamped to [0, n) as `CLAMP_JS` does (`bound`: the run's n, None when unknown); a choice
    that is not one of its values, the default."""
    value = asked(option, value)
    if option.kind == "choice":
        return value
    if option.kind == "name":  # a name the run does not offer (another family's probe, a typo): the default
        return value if isinstance(bound, list) and value in bound else option.default
    return select_index(math.floor(value + 0.5), limit=bound if isinstance(bound, int) else None)  # as JS rounds


def request_values(ranged: dict[str, Any], values: object) -> dict[str, Any]:
    """Every control's value for a request: the browser's `values` ({key: value}, untrusted), clamped."""
    values = values if isinstance(values, dict) else {}
    return {o.key: clamp(o, values.get(o.key), ranged.get(o.key)) for o in CONTROLS}


def render_values(view: str, chosen: dict[str, Any]) -> dict[str, Any]:
    """The renderer keywords a view takes from the controls' values (`chosen`: {key: value})."""
    return {o.name: chosen[o.key] for o in get_view(view).options if o.control and o.key in chosen}


# ------------------------------------------------------------------------ components
def control(option: ViewOption) -> html.Div:
    """The option's box in the sidebar: label (its help on hover), input, and the clamp note."""
    cid = control_id(option)
    if option.kind == "name":  # its names are the run's: `name_options` fills them when a run is picked
        widget = dcc.Dropdown(id=cid, value=option.default, clearable=False, options=[option.default])
    elif option.kind == "choice":
        widget = dcc.RadioItems(id=cid, value=option.default, inline=True, className="choice",
                                options=[{"label": f" {c} ", "value": c} for c in option.choices])
    else:  # no min/max: the browser would mark 999 invalid and send nothing; the note says what is shown
        widget = dcc.Input(id=cid, type="number", value=option.default, debounce=True)
    clicked = any(get_view(v).click == option.key for v in list_views())  # a panel's points set it
    return html.Div(id=f"{cid}-box", className="control", children=[
        html.Label(option.label, htmlFor=cid, title=option.help),
        widget,
        html.Div(option.help + (" (or click one in a panel)" if clicked else ""), className="readout option-help"),
        html.Div(id=f"{cid}-note", className="readout option-note"),
    ])


def name_options(option: ViewOption, ranges: object) -> list[str]:
    """A name control's dropdown entries: the names the run offers (from its ranges), else the default."""
    names = ranges.get(option.key) if isinstance(ranges, dict) else None
    return [str(n) for n in names] if isinstance(names, list) and names else [str(option.default)]


# The browser's clamp for an index control, for a value typed, clicked or read from the URL: the rule of
# `clamp`, and a note saying what was asked for. `window.workbench.clampIndex(value, ranges, key, fallback)`.
CLAMP_JS = r"""
function (value, ranges, key, fallback) {
  const no = window.dash_clientside.no_update;
  const bound = ranges ? ranges[key] : undefined;
  if (value === null || value === undefined || value === "") { return [fallback, ""]; }
  const asked = Number(value);
  if (!isFinite(asked)) { return [fallback, ""]; }
  const n = Number.isInteger(bound) ? bound : null;
  let shown = Math.max(0, Math.round(asked));
  if (n) { shown = Math.min(shown, n - 1); }
  if (shown === asked) { return [no, ""]; }
  const fmt = x => String(Number(x.toPrecision(6)));
  if (asked !== Math.round(asked)) { return [shown, fmt(asked) + " is not a whole number: showing " + shown]; }
  return [shown, fmt(asked) + " is out of range (" + (n ? "0–" + (n - 1) : "0 and up") + "): showing " + shown];
}
"""
