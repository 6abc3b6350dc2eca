"""Many knowledge bases in one process: `Service` lists, creates, opens and drops them by name, with one copy of each
model for all of them (`ModelRegistry`)."""

from semsearch.service.models import ModelRegistry
from semsearch.service.service import InvalidCollectionSettings, Service

__all__ = ["InvalidCollectionSettings", "ModelRegistry", "Service"]
