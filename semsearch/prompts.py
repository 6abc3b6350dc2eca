"""Query and document prompts: the text some models expect in front of what they embed (e5's `query: ` and
`passage: `, bge's query instruction), from the model's sentence-transformers config unless overridden.

Prompts are applied by the embedder on every backend, and are part of what made a collection's vectors: the store
records them with the model (`ModelRecord`) and refuses to open a collection with others.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CONFIG_FILE = "config_sentence_transformers.json"
#: Prompt names sentence-transformers' `encode_document` looks for, in its order.
DOCUMENT_NAMES = ("document", "passage", "corpus")


@dataclass(frozen=True)
class Prompts:
    """Text put before every query / every document chunk before tokenising; "" for none."""

    query: str = ""
    document: str = ""


def from_config(config: dict[str, Any]) -> Prompts:
    """The prompts sentence-transformers' `encode_query` and `encode_document` use: the "query" prompt, and the
    first of "document", "passage", "corpus". A role the config does not name gets `default_prompt_name`'s prompt,
    which is what plain `encode` (all semsearch called before prompts existed) applies to every text."""
    prompts = {str(k): str(v) for k, v in (config.get("prompts") or {}).items() if isinstance(v, str)}
    default = prompts.get(str(config.get("default_prompt_name")), "")
    document = next((prompts[name] for name in DOCUMENT_NAMES if name in prompts), default)
    return Prompts(query=prompts.get("query", default), document=document)


def model_prompts(path: str) -> Prompts:
    """Prompts declared by the model at `path` (a local directory, or a Hugging Face id read from the local cache
    or the hub); none when it declares none or its config cannot be read."""
    local = Path(path) / CONFIG_FILE
    try:
        if local.is_file():
            return from_config(json.loads(local.read_text()))
        if Path(path).exists():
            return Prompts()
        from huggingface_hub import hf_hub_download

        return from_config(json.loads(Path(hf_hub_download(path, CONFIG_FILE)).read_text()))
    except Exception as exc:  # a model without the file, an offline hub: the model has no prompts we can know
        log.info("no sentence-transformers prompts for %s (%s)", path, exc)
        return Prompts()


def resolve(path: str, query: str | None, document: str | None) -> Prompts:
    """The model's prompts, each replaced by the setting where one is set ("" switches a prompt off)."""
    declared = model_prompts(path)
    return Prompts(
        query=declared.query if query is None else query,
        document=declared.document if document is None else document,
    )
