"""The real documentation sets: HTML manuals that Debian packages ship, installed with apt, never committed.

Each set is one package's HTML tree copied (HTML files only: Sphinx ships its `.rst.txt` sources beside the pages,
and a user pointing `semsearch ingest` at the pages would not want them twice) into `CACHE/corpus/NAME`, so that
document ids are the page paths the judged questions name (`patterns/fileuploads.html`). The questions are
`benchmarks/realdocs/NAME.jsonl`: `{"id", "question", "style", "relevant": [page paths]}`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Where corpora and their ingested collections live: outside the repository, reused across runs.
DEFAULT_CACHE = Path("/work/realdocs-cache")
#: Question styles, in table order.
STYLES = ("paraphrase", "exact", "conceptual", "keyword")


@dataclass(frozen=True)
class DocSet:
    name: str
    package: str  # the Debian package that ships it
    root: Path  # where the package installs the HTML
    generator: str
    skip: tuple[str, ...] = ()  # folders of the tree that are not pages

    def corpus(self, cache: Path) -> Path:
        """The set's pages under `cache`, installed and copied on first use."""
        target = cache / "corpus" / self.name
        if target.is_dir() and any(target.rglob("*.html")):
            return target
        if not self.root.is_dir():
            subprocess.run(
                ["apt-get", "install", "-y", "--no-install-recommends", self.package],
                check=True,
                env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            )
        for page in self.root.rglob("*.html"):
            relative = page.relative_to(self.root)
            if relative.parts[0] in self.skip:
                continue
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page.resolve(), target / relative)
        return target

    def questions(self) -> list[dict]:
        with (HERE / f"{self.name}.jsonl").open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]


SETS = {
    "flask": DocSet(
        "flask", "python-flask-doc", Path("/usr/share/doc/python-flask-doc/html"), "Sphinx", ("_sources", "_static")
    ),
    "git": DocSet("git", "git-doc", Path("/usr/share/doc/git-doc"), "asciidoc"),
}
