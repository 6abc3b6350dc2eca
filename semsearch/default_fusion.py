"""A collection's default fusion: what hybrid search fuses with when a request names none.

Built in it is the calibrated mean of the dense and keyword scores (`semsearch.ranking.BUILT_IN_FUSION`);
`semsearch eval DIR --tune --save` replaces it with the setting that
cross-validation on the user's own labelled queries chose, saved with the collection (`MilvusStore.save_default`),
so every door (HTTP, CLI, MCP, the Python API) and every process that opens the collection uses it. A request's
explicit fusion still wins. An engine reads it when it opens; a running API on a server reads it again with every
alias check (SEMSEARCH_ALIAS_CHECK_SECONDS). On Milvus Lite the API holds the `.db`, so nothing can save one while it
runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from semsearch.ranking import BUILT_IN_FUSION, Fusion
from semsearch.store import MilvusStore

log = logging.getLogger(__name__)

#: The name the default fusion is saved under, with the collection.
SAVED_NAME = "fusion"


@dataclass(frozen=True)
class DefaultFusion:
    """The fusion in use when a request names none, and where it came from: `saved` with the collection (then
    `tuning` says how it was chosen: model, queries, held-out gain) or `built-in`."""

    fusion: Fusion = BUILT_IN_FUSION
    source: Literal["saved", "built-in"] = "built-in"
    tuning: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What `/ready` and `semsearch status` report."""
        return {"name": self.fusion.describe(), **self.fusion.to_dict(), "source": self.source, **self.tuning}


def load_default_fusion(store: MilvusStore) -> DefaultFusion:
    """The collection's saved fusion, or the built-in one; a saved value this version cannot read is logged and
    ignored (searches still work, with the built-in fusion)."""
    saved = store.saved_default(SAVED_NAME)
    if saved is None:
        return DefaultFusion()
    try:
        fusion = Fusion.from_dict(saved.get("fusion") or {})
    except ValueError as exc:
        log.warning(
            "collection %r: ignoring its saved default fusion (%s); using %s",
            store.collection,
            exc,
            BUILT_IN_FUSION.describe(),
        )
        return DefaultFusion()
    return DefaultFusion(fusion, "saved", {k: v for k, v in saved.items() if k != "fusion"})


def save_default_fusion(store: MilvusStore, fusion: Fusion, **tuning: Any) -> DefaultFusion:
    """Save `fusion` as the collection's default, with how it was chosen (`tuning`: short JSON-able facts)."""
    store.save_default(SAVED_NAME, {"fusion": fusion.to_dict(), **tuning})
    return load_default_fusion(store)
