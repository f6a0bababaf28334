"""A run's tags and free-text note, as W&B users keep them: annotations.json in its directory.

The file is the user's, not training's: retraining, extending or analyzing a run never
rewrites it, and the run index (workbench.store.index) reads it into each run's row, so
`workbench list --where "tag=baseline"` filters on it. A tag is a word (letters, digits and
`_ . + -`, at most 40 characters, starting with a letter or digit); a note is at most 2,000
characters. An edit reads, changes and atomically replaces the file while holding the run's
`annotate` flock, so two edits at once both land. Bad input is one UserError line, and
nothing is written.
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from typing import Iterator

from workbench.core.errors import CorruptFile, MissingFile, UserError
from workbench.store._io import load_json, save_json
from workbench.store.file_store import RunKey, Store

__all__ = ["read_annotations", "add_tags", "remove_tags", "set_note", "check_tags", "MAX_TAGS", "MAX_NOTE"]

_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}", re.ASCII)
MAX_TAGS = 32  # tags on one run
MAX_NOTE = 2000  # characters of a note


def _checked(data: dict, path) -> dict:
    """The file's {"tags": [...], "note": str | None}; CorruptFile for anything else."""
    tags, note = data.get("tags", []), data.get("note")
    if not isinstance(tags, list) or not all(isinstance(t, str) and _TAG.fullmatch(t) for t in tags):
        raise CorruptFile(path, "'tags' is not a list of tags")
    if note is not None and not isinstance(note, str):
        raise CorruptFile(path, "'note' is not text")
    return {"tags": tags, "note": note or None}


def read_annotations(store: Store, key: RunKey) -> dict:
    """{"tags": [...], "note": str | None} of the run ({"tags": [], "note": None} without a file).

    Raises:
        CorruptFile (one line naming the file) if annotations.json is not what this module writes.
    """
    path = store.annotations_path(key)
    try:
        return _checked(load_json(path, expect=dict), path)
    except MissingFile:
        return {"tags": [], "note": None}


def check_tags(tags: list[str]) -> list[str]:
    """The tags, each checked (UserError naming the first bad one), duplicates dropped."""
    if not tags:
        raise UserError("give at least one TAG")
    for tag in tags:
        if not _TAG.fullmatch(tag):
            raise UserError(f"bad tag {tag!r}: a tag is a word of letters, digits and _ . + - (at most 40 "
                            "characters, starting with a letter or digit)")
    return list(dict.fromkeys(tags))


@contextmanager
def _editing(store: Store, key: RunKey) -> Iterator[dict]:
    """The run's annotations to change in the block; written back atomically at its end, under the run's lock."""
    if not store.exists(key):
        raise UserError(f"no run {key.family}:{key.variant} in {store.root} (see `workbench list`)")
    store.ensure_writable()
    fd = os.open(store.lock_path(key, "annotate"), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another edit finishes first: a short wait, never a refusal
        data = read_annotations(store, key)
        yield data
        save_json({"tags": data["tags"], "note": data["note"]}, store.annotations_path(key))
    finally:
        os.close(fd)


def add_tags(store: Store, key: RunKey, tags: list[str]) -> list[str]:
    """Add `tags` to the run; its tags now. UserError for a bad tag, a missing run, or too many tags."""
    tags = check_tags(tags)
    with _editing(store, key) as data:
        merged = list(dict.fromkeys(data["tags"] + tags))
        if len(merged) > MAX_TAGS:
            raise UserError(f"a run holds at most {MAX_TAGS} tags; this would give it {len(merged)}")
        data["tags"] = merged
    return merged


def remove_tags(store: Store, key: RunKey, tags: list[str]) -> list[str]:
    """Remove `tags` from the run; its tags now. UserError for a tag it does not have."""
    tags = check_tags(tags)
    with _editing(store, key) as data:
        missing = [t for t in tags if t not in data["tags"]]
        if missing:
            raise UserError(f"the run has no tag {missing[0]!r} (its tags: {', '.join(data['tags']) or 'none'})")
        data["tags"] = [t for t in data["tags"] if t not in tags]
    return data["tags"]


def set_note(store: Store, key: RunKey, text: str) -> str | None:
    """Set the run's note (blank text removes it); the note now. UserError for one too long."""
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise UserError(f"a note is at most {MAX_NOTE} characters, got {len(text)}")
    with _editing(store, key) as data:
        data["note"] = text or None
    return data["note"]
