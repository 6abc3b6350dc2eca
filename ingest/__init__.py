"""Readers: files → documents (formats, layout, tables, sync, watch), used by the knowledge base for a local ingest,
`KnowledgeBase.add_files` and HTTP uploads alike.

The readers build the engine's `Document`s, and the engine's package presents `KnowledgeBase`, which reads files
through this package: `semsearch` is imported first, so whichever of the two a program imports first, the readers
run their module code against a complete engine package.
"""

import semsearch  # noqa: F401  (import order, see above)
