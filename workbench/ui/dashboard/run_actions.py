"""The Runs table's row actions and its tag / note editor.

A click on a row's cell:

- "open" or the run's label opens the run on the explore page; "compare" adds it to the
  compare page's selection (the URL's `compare` entries) and shows that page;
- "analyze", and "extend" (a finished run, by the epochs in the box above the table) or
  "resume" (a stopped or interrupted one; one cell, decided from the run's files) start a job
  through the Runs page's own launch path (workbench.ui.jobs.submit: checked as the command
  would check it, then queued), and only with this server's launch token, like the form's
  Start button (jobs_panel); with launching off they answer with a refusal;
- the tags-and-note cell opens the editor under the table for that run. Saving writes the run's
  annotations.json through the store's annotation API (workbench.store.annotations), with
  the same token: a page this server did not serve can neither launch nor write.

Every value from the browser is checked here (the run id against the store's runs, the
epochs as the form's fields are), so a crafted request is a message, never a 500.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qsl, urlencode

from dash import Input, Output, State, no_update

from workbench.core.errors import UserError
from workbench.requests import AnalyzeRequest, TrainRequest, checked
from workbench.store import RunKey, Store
from workbench.store.annotations import MAX_NOTE, add_tags, check_tags, read_annotations, remove_tags, set_note
from workbench.ui.dashboard import data
from workbench.ui.dashboard.guard import token_ok
from workbench.ui.jobs import from_form, submit

__all__ = ["compare_search", "launch", "save_annotations", "split_tags", "register"]

_OFF = "not started: starting jobs from this page is off on this server (not on loopback, or --launch off)"
_STALE = "this page's launch token is missing or stale; reload the page"


def compare_search(search: object, vid: str) -> str:
    """The URL query with `vid` added to the compare selection (other entries kept)."""
    pairs = parse_qsl(search[1:] if isinstance(search, str) and search.startswith("?") else "")
    if ("compare", vid) not in pairs:
        pairs.append(("compare", vid))
    return "?" + urlencode(pairs)


def _request(store: Store, action: str, key: RunKey, extra: object) -> tuple[str, object]:
    """(job kind, typed request) of a row action on run `key`; "train" extends a finished run
    and resumes any other (decided from its files, not from what the page showed)."""
    record = store.read_record(key)
    spec, ckpts = record.variant, store.checkpoint_epochs(key)
    if action == "train":
        action = "extend" if ckpts and ckpts[-1] >= record.epochs else "resume"
    if action == "analyze":
        return "analyze", checked(AnalyzeRequest, variant=spec, analyzers="all", quiet=True)
    if action == "extend":  # the form's own parsing of the epochs box: the same one-line messages
        return from_form("extend", {"target": spec, "extra_epochs": extra if extra is None else str(extra)})
    return "train", checked(TrainRequest, variant=spec, resume=True, quiet=True)  # the run's own plan


def launch(store: Store, action: object, vid: object, extra: object = None) -> str:
    """Start the row action `action` ("analyze", "train": extend or resume, "extend", "resume")
    on run `vid`; the page's message."""
    if action not in ("analyze", "train", "extend", "resume"):
        return f"not started: unknown action {str(action)[:30]!r}"
    try:
        key = data.resolve_variant(store, vid)
        kind, request = _request(store, action, key, extra)
        job_id, started = submit(store, kind, request)
    except (UserError, sqlite3.Error, OSError) as err:
        return f"not started: {err}"
    return (f"job {job_id} {'started' if started else 'queued (it starts when a running job ends)'} "
            f"({'resume' if kind == 'train' else kind} {key.family}:{key.variant[:60]})")


def split_tags(text: object) -> list[str]:
    """'a, b c' -> ['a', 'b', 'c']; UserError for anything but text."""
    if text is None:
        return []
    if not isinstance(text, str):
        raise UserError(f"tags must be text, got {type(text).__name__}")
    return [t for t in text.replace(",", " ").split() if t]


def save_annotations(store: Store, vid: object, tags: object, note: object) -> str:
    """Make run `vid`'s tags exactly `tags` and its note `note`; the page's message."""
    try:
        key = data.resolve_variant(store, vid)
        wanted = split_tags(tags)
        if note is not None and not isinstance(note, str):
            raise UserError(f"the note must be text, got {type(note).__name__}")
        if wanted:
            check_tags(wanted)  # every tag checked before any change: a refusal writes nothing
        if isinstance(note, str) and len(note.strip()) > MAX_NOTE:
            raise UserError(f"a note is at most {MAX_NOTE} characters, got {len(note.strip())}")
        have = read_annotations(store, key)["tags"]
        if [t for t in have if t not in wanted]:
            remove_tags(store, key, [t for t in have if t not in wanted])
        if [t for t in wanted if t not in have]:
            add_tags(store, key, [t for t in wanted if t not in have])
        set_note(store, key, note or "")
    except (UserError, OSError) as err:
        return f"not saved: {err}"
    return f"saved: tags and note of {key.family}:{key.variant[:60]}"


def _cell(cell: object) -> tuple[str, str] | None:
    """(column id, run id) of a clicked cell, or None for anything else."""
    if not isinstance(cell, dict) or not isinstance(cell.get("row_id"), str):
        return None
    column = cell.get("column_id")
    return (column, cell["row_id"]) if isinstance(column, str) else None


def register(app, store: Store, launch_on: bool, token: str | None) -> None:
    """The row clicks (navigation, launches, the editor) and the editor's save."""

    @app.callback(Output("url", "pathname", allow_duplicate=True), Output("url", "search", allow_duplicate=True),
                  Output("runs-action-msg", "children"), Output("annot-run", "data"),
                  Input("runs-table", "active_cell"), State("url-written", "data"), State("runs-extend", "value"),
                  State("launch-token", "data"), prevent_initial_call=True)
    def _clicked(cell, search, extra, sent):
        picked = _cell(cell)
        if picked is None:
            return no_update, no_update, no_update, no_update
        column, vid = picked
        if column in ("open", "label"):
            return "/", "?" + urlencode({"variant": vid}), no_update, no_update
        if column == "compare":
            return "/compare", compare_search(search, vid), no_update, no_update
        if column == "annotations":
            return no_update, no_update, no_update, vid
        if column not in ("analyze", "train"):
            return no_update, no_update, no_update, no_update
        if not launch_on:
            return no_update, no_update, _OFF, no_update
        message = launch(store, column, vid, extra) if token_ok(token, sent) else f"not started: {_STALE}"
        return no_update, no_update, message, no_update

    @app.callback(Output("annot-editor", "style"), Output("annot-title", "children"), Output("annot-tags", "value"),
                  Output("annot-note", "value"), Input("annot-run", "data"), prevent_initial_call=True)
    def _edit(vid):
        try:
            key = data.resolve_variant(store, vid)
            now = read_annotations(store, key)
        except UserError as err:
            return {"display": "none"}, str(err), no_update, no_update
        return {}, f"Tags and note of {key.family}:{key.variant}", " ".join(now["tags"]), now["note"] or ""

    @app.callback(Output("annot-msg", "children"), Input("annot-save", "n_clicks"), State("annot-run", "data"),
                  State("annot-tags", "value"), State("annot-note", "value"), State("launch-token", "data"),
                  prevent_initial_call=True)
    def _save(_, vid, tags, note, sent):
        if not launch_on:
            return "not saved: this server does not write to the store (not on loopback, or --launch off)"
        if not token_ok(token, sent):
            return f"not saved: {_STALE}"
        return save_annotations(store, vid, tags, note)
