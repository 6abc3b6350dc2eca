"""Reading a `multipart/form-data` upload as it streams in: each file part goes straight to its staged file on disk
(`semsearch.uploads.Staging`), never whole in memory; the other fields (ids, metadata) are small and kept as text.

Written on python-multipart's parser (the one Starlette uses) rather than `request.form()`, which spools every file
into memory up to 1 MB and then into a second temporary file, and cannot tell a file part that is over its limit
to stop being written, nor hand over a file name's raw bytes (so a name that is not UTF-8 can be refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from semsearch.settings import Settings
from semsearch.uploads import FilesRefused, StagedFile, Staging

#: File parts read from one request; those beyond are refused by name (400), the first ones still land.
MAX_FILES = 1000
#: Non-file fields of one request (one `doc_id` per file, metadata, tenant, ...).
MAX_FIELDS = MAX_FILES + 16
#: Bytes of one non-file field (metadata is a JSON object, not a document).
MAX_FIELD_BYTES = 64 * 1024
#: Bytes of one part header line: room for a hostile 10 kB file name to arrive whole, and be refused by name
#: (python-multipart's default, 4 kB, would fail the whole request without saying which file).
MAX_HEADER_BYTES = 32 * 1024


@dataclass
class UploadForm:
    """What a request carried: its files, staged (the caller owns `staging` now), and its text fields by name."""

    staging: Staging
    fields: dict[str, list[str]] = field(default_factory=dict)

    def one(self, name: str) -> str | None:
        values = self.fields.get(name)
        if values and len(values) > 1:
            raise FilesRefused(f"the field {name!r} is given {len(values)} times; send it once")
        return values[0] if values else None


async def read_upload(request: Request, settings: Settings) -> UploadForm:
    """Stream the request's parts into a new `Staging`. Raises FilesRefused (400, or 415 for another body type) for
    a body that is not well-formed multipart or was cut off; the staged files are then removed."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise FilesRefused(
            f"Content-Type must be multipart/form-data, got {content_type.decode('latin-1')!r}", status=415
        )
    if not params.get(b"boundary"):
        raise FilesRefused("the multipart/form-data Content-Type has no boundary")
    staging = await anyio.to_thread.run_sync(Staging.create, settings)
    parts = _Parts(staging)
    parser = MultipartParser(params[b"boundary"], parts.callbacks(), max_header_size=MAX_HEADER_BYTES)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if parts.pending:
                await anyio.to_thread.run_sync(parts.flush)
        parser.finalize()
        await anyio.to_thread.run_sync(parts.flush)
    except (FormParserError, FilesRefused, ClientDisconnect) as exc:
        await anyio.to_thread.run_sync(staging.abandon)
        if isinstance(exc, FilesRefused):
            raise
        if isinstance(exc, ClientDisconnect):
            raise FilesRefused(parts.cut_off("the client went away")) from exc
        raise FilesRefused(f"the multipart body is malformed: {exc}") from exc
    except BaseException:
        await anyio.to_thread.run_sync(staging.abandon)
        raise
    if not parts.ended:
        await anyio.to_thread.run_sync(staging.abandon)
        raise FilesRefused(parts.cut_off("the body ended before its closing boundary"))
    return UploadForm(staging, parts.fields)


class _Parts:
    """python-multipart's callbacks: they run inside `parser.write`, so file data is queued in `pending` and written
    by `flush` in a worker thread (disk writes must not block the event loop)."""

    def __init__(self, staging: Staging) -> None:
        self.staging = staging
        self.fields: dict[str, list[str]] = {}
        self.pending: list[tuple[StagedFile, bytes | None]] = []  # (file, data), or (file, None): it ended
        self.ended = False
        self._header = b""
        self._value = b""
        self._disposition = b""
        self._file: StagedFile | None = None
        self._field: str | None = None
        self._data = bytearray()
        self._files = 0
        self._field_count = 0

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._add_header(data[start:end], b""),
            "on_header_value": lambda data, start, end: self._add_header(b"", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        for staged, data in pending:
            staged.write(data) if data is not None else staged.finish()

    def cut_off(self, why: str) -> str:
        during = f" while file {self._file.state.name!r} was being sent" if self._file is not None else ""
        return f"the upload was cut off ({why}){during}; nothing of this request was stored"

    def _begin(self) -> None:
        self._header = self._value = self._disposition = b""
        self._file, self._field, self._data = None, None, bytearray()

    def _add_header(self, name: bytes, value: bytes) -> None:
        self._header += name
        self._value += value

    def _header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" in options:
            self._files += 1
            # parse_options_header hands the header's bytes back unchanged (latin-1 both ways): check_name decodes
            self._file = self.staging.begin(options[b"filename"])
            if self._files > MAX_FILES and not self._file.refused:
                self._file._drop(400, f"more than {MAX_FILES} files in one request; send it in another request")
            return
        self._field_count += 1
        if self._field_count > MAX_FIELDS:
            raise FilesRefused(f"more than {MAX_FIELDS} form fields in one request")
        if b"name" not in options:
            raise FilesRefused("a form field has no name in its Content-Disposition")
        self._field = options[b"name"].decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self.pending.append((self._file, bytes(data[start:end])))
            return
        self._data += data[start:end]
        if len(self._data) > MAX_FIELD_BYTES:
            raise FilesRefused(f"the field {self._field!r} is over {MAX_FIELD_BYTES} bytes")

    def _part_end(self) -> None:
        if self._file is not None:
            self.pending.append((self._file, None))
            self._file = None
        elif self._field is not None:
            try:
                value = self._data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FilesRefused(f"the field {self._field!r} is not UTF-8") from exc
            self.fields.setdefault(self._field, []).append(value)

    def _end(self) -> None:
        self.ended = True
