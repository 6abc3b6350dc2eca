"""Stand-ins for the Milvus client libraries (pymilvus, grpc) where they cannot be imported, for benchmarks/gpu.py.

The GPU machine lacks them, and they cannot travel there: pymilvus needs pandas, grpcio and protobuf, more than the
64 MiB that may go along with the model. Yet the engine's modules import pymilvus and grpc names when they are
imported (`semsearch.store` is where the engine's constants and `Hit` live). benchmarks/gpu.py replaces the store
with a counting sink, so nothing ever calls them: each name is a stand-in. A stand-in is an exception class, so the
`except` and `isinstance` clauses that name one stay valid (and never match); calling one raises ModuleNotFoundError
naming the library, so a path that did need Milvus fails loudly instead of measuring something else.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

CLIENT_LIBRARIES = ("pymilvus", "grpc")


def stand_in_where_absent() -> list[str]:
    """Import each client library; for those that cannot be imported, serve stand-ins. Returns their names."""
    absent = []
    for library in CLIENT_LIBRARIES:
        try:
            importlib.import_module(library)
        except ImportError:  # the library, or one of its own dependencies (pandas for pymilvus), is missing
            absent.append(library)
    if absent:
        for name in [n for n in sys.modules if n.partition(".")[0] in absent]:
            del sys.modules[name]  # a half-imported library, or a None that blocked it
        sys.meta_path.insert(0, _StandIns(absent))
    return absent


class _AbsentName(type):
    """The class of a stand-in name: its attributes are stand-ins too (`grpc.StatusCode.UNAVAILABLE`), and
    making one (`MilvusClient(uri)`) raises."""

    _library: str

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _absent(f"{cls.__qualname__}.{name}", cls._library)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError(f"{cls._library} is not installed here, so {cls.__qualname__} cannot be used")


def _absent(name: str, library: str) -> type:
    return _AbsentName(name.rpartition(".")[2], (Exception,), {"_library": library, "__qualname__": name})


class _AbsentModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = _absent(f"{self.__name__}.{name}", self.__name__.partition(".")[0])
        setattr(self, name, value)
        return value


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves every module of the absent libraries (`pymilvus.milvus_client.index` too) as an `_AbsentModule`."""

    def __init__(self, libraries: list[str]) -> None:
        self.libraries = set(libraries)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.libraries:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _AbsentModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        pass
