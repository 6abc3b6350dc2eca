"""Zip containers (.docx, .pptx, .xlsx, .odt, .epub) are checked before any library opens them: a small file can
unpack to gigabytes (a zip bomb), and password-protected Office files are not zips at all but encrypted OLE files.

The check reads only the zip's central directory. Python's zipfile never inflates a member past the size that
directory declares, so the declared total bounds what readers can unpack.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.readers import LoadError

#: First bytes of an OLE compound file: what Office writes for encrypted (password-protected) documents, and what
#: the pre-2007 .doc/.xls/.ppt formats are.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_zip(path: Path, max_unpacked_bytes: int) -> None:
    """Raise LoadError unless `path` is a readable zip that unpacks to at most `max_unpacked_bytes`."""
    kind = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(len(OLE_MAGIC))
    if head == OLE_MAGIC:
        raise LoadError(
            f"encrypted (password-protected) or legacy binary file, not a {kind} zip; save it without a password "
            f"in the {kind} format"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoadError(f"corrupt or not a {kind} file (not a readable zip archive: {exc})") from exc
    if any(member.flag_bits & 0x1 for member in members):
        raise LoadError(f"the {kind} file is encrypted with a password; save it without one")
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_unpacked_bytes:
        raise LoadError(
            f"unpacks to {unpacked / 2**20:.1f} MiB, over the {max_unpacked_bytes / 2**20:.1f} MiB limit "
            "(SEMSEARCH_MAX_UNPACKED_BYTES; a zip bomb, or a file to split)"
        )
