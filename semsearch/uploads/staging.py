"""Staging an upload: checking a file's name and streaming its bytes to a private folder on disk, each file under
its own name (so a reader sees the stem and suffix it would see locally), refused by name with an HTTP-like status
when it cannot be read (a hostile name, a type no reader takes, empty, over the limit)."""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ingest.formats import format_of, supported_suffixes
from semsearch.errors import Refused
from semsearch.settings import Settings
from semsearch.uploads.jobs import FileState

#: Longest file name accepted, in UTF-8 bytes: what Linux file systems allow for one name.
NAME_MAX_BYTES = 255


class FilesRefused(Refused):
    """No file of the request can be read (each is named in `files` with its reason), or the request's fields are
    wrong; `status` is the HTTP status to answer (400, 413 or 415)."""

    def __init__(self, message: str, status: int = 400, files: Sequence[FileState] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.files = list(files)


def check_name(raw: bytes | str) -> str:
    """The file name as sent, if it is one a reader may see; raises FilesRefused (400) for a path (`../x`, `a/b`),
    a NUL or control character, a name over NAME_MAX_BYTES bytes, or bytes that are not UTF-8."""
    if isinstance(raw, bytes):
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FilesRefused(f"file name {raw[:80]!r} is not UTF-8") from exc
    else:
        name = raw
    shown = repr(name[:80] + ("..." if len(name) > 80 else ""))
    if not name.strip():
        raise FilesRefused("a file part has no file name")
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        raise FilesRefused(f"file name {shown} is longer than {NAME_MAX_BYTES} bytes")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise FilesRefused(f"file name {shown} contains a control character or NUL")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise FilesRefused(f"file name {shown} is a path; send the file's name only (and its id as doc_id)")
    return name


@dataclass
class StagedFile:
    """One file of a request on its way to disk. `state.status` is set when it is refused; its bytes are then
    dropped (and any written removed) while the request's other files go on."""

    state: FileState
    path: Path | None = None
    limit: int = 0
    _out: IO[bytes] | None = field(default=None, repr=False)

    @property
    def refused(self) -> bool:
        return self.state.status is not None

    def write(self, data: bytes) -> None:
        if self.refused:
            return
        self.state.size += len(data)
        if self.state.size > self.limit:
            self._drop(
                413,
                f"file is over the {self.limit / 2**20:.1f} MiB limit (SEMSEARCH_MAX_FILE_BYTES for prose files, "
                "SEMSEARCH_MAX_UPLOAD_BYTES for a request)",
            )
            return
        assert self._out is not None
        self._out.write(data)

    def finish(self) -> None:
        """The part ended: close the file; an empty one is refused (400)."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if not self.refused and self.state.size == 0:
            self._drop(400, "empty file")

    def _drop(self, status: int, reason: str) -> None:
        self.state.refuse(status, reason)
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


@dataclass
class Staging:
    """A private folder (mode 0700) for one request's files, each in a numbered sub-folder under its own name.
    Whoever holds it removes it: the request while it is read, then the job `submit_files` queues."""

    directory: Path
    settings: Settings
    files: list[StagedFile] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings) -> Staging:
        root = Path(settings.upload_dir) if settings.upload_dir else None
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        return cls(Path(tempfile.mkdtemp(prefix="semsearch-upload-", dir=root)), settings)

    def begin(self, raw_name: bytes | str) -> StagedFile:
        """Start the next file of the request. It is refused at once (its bytes then dropped) for a bad name
        (400) or a type no reader takes (415); prose files are held to `max_file_bytes`, tables stream and are held
        only to `max_upload_bytes`."""
        number = len(self.files)
        try:
            name = check_name(raw_name)
        except FilesRefused as exc:
            shown = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else raw_name
            staged = StagedFile(FileState(name=_printable(shown), doc_id=""))
            staged.state.refuse(400, str(exc))
            self.files.append(staged)
            return staged
        staged = StagedFile(FileState(name=name, doc_id=name))
        self.files.append(staged)
        found = format_of(Path(name))
        if found is None:
            staged.state.refuse(
                415, f"unsupported file type {Path(name).suffix.lower() or '(none)'!r}; use {supported_suffixes()}"
            )
            return staged
        staged.limit = self.settings.max_upload_bytes if found.table else self.settings.max_file_bytes
        folder = self.directory / str(number)
        folder.mkdir()
        staged.path = folder / name
        staged._out = staged.path.open("xb")
        return staged

    def abandon(self) -> None:
        """The request failed (cut off, refused as a whole): close what is open and remove the folder."""
        for staged in self.files:
            if staged._out is not None:
                staged._out.close()
                staged._out = None
        self.remove()

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _printable(name: str) -> str:
    """A refused name as it can be shown in an answer: control characters escaped, cut to 120 characters."""
    shown = "".join(c if unicodedata.category(c) not in ("Cc", "Cs") else repr(c)[1:-1] for c in name)
    return shown[:120] + ("..." if len(shown) > 120 else "")
