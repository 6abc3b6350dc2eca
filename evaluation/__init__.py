"""Retrieval evaluation on BEIR-format data: `semsearch eval DIR`. Uses the engine; imports neither door."""
