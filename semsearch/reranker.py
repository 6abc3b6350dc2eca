"""Optional second stage: a sentence-transformers CrossEncoder reorders the first-stage candidates."""

from __future__ import annotations

import dataclasses

from semsearch.ranking import sigmoid
from semsearch.store import Hit


class Reranker:
    def __init__(self, model: str, device: str | None = None) -> None:
        from sentence_transformers import CrossEncoder

        self.model_id = model
        self.model = CrossEncoder(model, device=device)

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Hits by cross-encoder relevance: `score` = sigmoid(logit) in 0..1, `raw_score` = the logit."""
        if not hits:
            return []
        logits = self.model.predict([(query, hit.text) for hit in hits], convert_to_numpy=True, show_progress_bar=False)
        rescored = [
            dataclasses.replace(hit, score=sigmoid(float(logit)), raw_score=float(logit))
            for hit, logit in zip(hits, logits, strict=True)
        ]
        return sorted(rescored, key=lambda hit: hit.raw_score, reverse=True)
