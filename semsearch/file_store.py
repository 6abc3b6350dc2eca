"""The raw files `POST /v1/files` is sent, kept on disk so that a vector store can read them when one is attached.

OpenAI's file search is two steps: upload a file (`/v1/files`), then attach its id to a vector store. Between the
two the file must be kept as it came, so each is moved out of its upload's staging folder (`semsearch.uploads`: the
one upload path, with its name and size checks) into `<files folder>/<file id>/<its name>`, and recorded in a small
JSON index beside them (`files.json`). The folder is `Settings.files_folder`; together the files may take at most
`Settings.files_max_bytes`. Keeping a file's own name keeps its suffix (the format its reader is chosen by) and its
stem (titles), as a local ingest would see them.

One process owns the folder (the serving one); the index is rewritten whole, atomically, on every change.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from semsearch.errors import NotFound
from semsearch.settings import Settings
from semsearch.uploads import FilesRefused, StagedFile

INDEX_NAME = "files.json"
#: Bytes copied at a time when a kept file is read.
BLOCK = 1 << 20


class FileNotFound(NotFound):
    """No file kept here has this id (never uploaded, or deleted)."""


@dataclass
class StoredFile:
    """A kept file, as OpenAI's `FileObject` describes one: `bytes` is its size, `created_at` Unix seconds."""

    id: str
    filename: str
    bytes: int
    created_at: int
    purpose: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_file_id() -> str:
    return f"file-{uuid.uuid4().hex[:24]}"


class FileStore:
    """The kept files of one folder: `keep` a staged upload, `get`/`list` their records, `read` their bytes,
    `delete` them. Thread-safe; the folder is made on the first file kept."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.RLock()
        self._files: dict[str, StoredFile] | None = None

    @classmethod
    def of(cls, settings: Settings) -> FileStore:
        return cls(settings.files_folder, settings.files_max_bytes)

    # -- writes ---------------------------------------------------------------------------------------------------

    def keep(self, staged: StagedFile, purpose: str) -> StoredFile:
        """Move a staged upload (finished, not refused) into the folder and record it. FilesRefused (413) when it
        would take the folder over `max_bytes`."""
        assert staged.path is not None and not staged.refused
        size = staged.path.stat().st_size
        with self._lock:
            files = self._loaded()
            used = sum(f.bytes for f in files.values())
            if used + size > self.max_bytes:
                raise FilesRefused(
                    f"keeping {staged.state.name!r} ({size} bytes) would take the kept files over "
                    f"{self.max_bytes} bytes (SEMSEARCH_FILES_MAX_BYTES; {used} used): delete files first",
                    413,
                )
            record = StoredFile(new_file_id(), staged.state.name, size, int(time.time()), purpose)
            home = self.folder / record.id
            home.mkdir(parents=True)
            shutil.move(staged.path, home / record.filename)
            staged.path = None
            files[record.id] = record
            self._save()
        return record

    def delete(self, file_id: str) -> StoredFile:
        """Forget a file and remove its bytes; FileNotFound if there is none."""
        with self._lock:
            record = self.get(file_id)
            del self._loaded()[file_id]
            self._save()
        shutil.rmtree(self.folder / file_id, ignore_errors=True)
        return record

    # -- reads ----------------------------------------------------------------------------------------------------

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            record = self._loaded().get(file_id)
        if record is None:
            raise FileNotFound(f"no file with id {file_id!r}")
        return record

    def list(self, purpose: str | None = None) -> list[StoredFile]:
        """Every kept file (with `purpose`, those of that purpose), oldest first."""
        with self._lock:
            files = list(self._loaded().values())
        return [f for f in files if purpose is None or f.purpose == purpose]

    def path(self, file_id: str) -> Path:
        record = self.get(file_id)
        return self.folder / record.id / record.filename

    def read(self, file_id: str) -> Iterator[bytes]:
        """The file's bytes, a block at a time (FileNotFound at once if there is none)."""
        path = self.path(file_id)

        def blocks() -> Iterator[bytes]:
            with path.open("rb") as source:
                while block := source.read(BLOCK):
                    yield block

        return blocks()

    def used_bytes(self) -> int:
        with self._lock:
            return sum(f.bytes for f in self._loaded().values())

    # -- the index ------------------------------------------------------------------------------------------------

    def _loaded(self) -> dict[str, StoredFile]:
        if self._files is None:
            index = self.folder / INDEX_NAME
            rows = json.loads(index.read_text()) if index.exists() else []
            self._files = {row["id"]: StoredFile(**row) for row in rows}
        return self._files

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.folder / INDEX_NAME, [f.to_dict() for f in self._loaded().values()])


def write_json(path: Path, value: Any) -> None:
    """Write `value` as JSON so that a reader (or a crash) sees the old file or the new one, never half of one."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, ensure_ascii=False, indent=1))
    os.replace(partial, path)
