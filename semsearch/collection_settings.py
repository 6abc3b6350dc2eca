"""What a collection keeps of the settings it was created with, and how they override the environment when it is
opened again.

A collection's vectors are only as good as the model, prompts and chunking that made them, so those belong to the
collection, not to whichever process opens it: two collections built with two models are served side by side by one
process, and `SEMSEARCH_MODEL` set for one does not reopen the other with the wrong model. The store keeps the model
and prompts in the collection's `ModelRecord` and the rest in its `settings` (a JSON object in the collection's
description, which Milvus Lite and the server both keep; Lite cannot alter collection properties). Per-run settings
(backend, device, batch size, timeouts, keys) stay the environment's: they change how, not what, is computed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from semsearch.settings import Settings
from semsearch.store.schema import ModelRecord

#: The settings a collection records when it is created and is opened with afterwards (beside the model and
#: prompts of its ModelRecord). `index_params` only matter at creation; they are kept to say how it was built.
RECORDED = ("chunk_tokens", "chunk_overlap", "keyword_window_tokens", "index", "index_params", "multi_tenant")
#: What `POST /collections` and `semsearch collections create` may set: the recorded settings, the model and prompts.
CHOSEN_AT_CREATION = ("model", "query_prompt", "document_prompt", *RECORDED)


def to_record(settings: Settings) -> dict[str, Any]:
    """The `settings` part of a new collection's record."""
    return {name: getattr(settings, name) for name in RECORDED}


def recorded(settings: Settings, record: ModelRecord | None, keep: Collection[str] = ()) -> Settings:
    """`settings` with the collection's recorded ones on top: its model and prompts (from any semsearch record),
    and chunking, keyword window, index and tenancy (from records made since collections keep them). A record from
    before prompts leaves the prompts to `settings`. The settings named in `keep` were given explicitly (a command
    line option, a keyword argument) and stay: an explicit model or prompts other than the recorded ones is then
    refused when the collection is opened, an explicit chunk size applies to that run."""
    if record is None:
        return settings
    update: dict[str, Any] = {"model": record.model}
    if record.document_prompt is not None:
        update |= {"query_prompt": record.query_prompt or "", "document_prompt": record.document_prompt}
    for name, value in (record.settings or {}).items():
        if name in RECORDED:
            update[name] = value
    return settings.model_copy(update={name: value for name, value in update.items() if name not in keep})


def differences(record: ModelRecord, wanted: Settings, chosen: Iterable[str]) -> list[str]:
    """What creating the collection `record` describes again with `wanted` would change, among the settings the
    caller `chosen` to set: empty when the create is a no-op (what was not chosen is whatever the collection has)."""
    recorded_now: dict[str, Any] = {"model": record.model, **(record.settings or {})}
    if record.document_prompt is not None:
        recorded_now |= {"query_prompt": record.query_prompt or "", "document_prompt": record.document_prompt}
    changed = []
    for name in chosen:
        if name in recorded_now and recorded_now[name] != getattr(wanted, name):
            changed.append(f"{name} is {recorded_now[name]!r}, not {getattr(wanted, name)!r}")
    return changed
