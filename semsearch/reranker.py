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
        """Hits by cross-encoder relevance: `raw_score` = the logit, `score` = sigmoid(logit) in 0..1.

        `CrossEncoder.predict` applies the model's own activation by default (a sigmoid for one-label models, or
        whatever its config names), and taking that output as the logit squashed scores twice (0.5..0.73). So
        the activation is switched off here, whatever the model declares, and the one sigmoid is ours."""
        if not hits:
            return []
        import torch

        logits = self.model.predict(
            [(query, hit.text) for hit in hits],
            activation_fn=torch.nn.Identity(),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        rescored = [
            dataclasses.replace(hit, score=sigmoid(float(logit)), raw_score=float(logit))
            for hit, logit in zip(hits, logits, strict=True)
        ]
        return sorted(rescored, key=lambda hit: hit.raw_score, reverse=True)
