"""The Hailo-10H HEFs of Hailo's model zoo GenAI, per zoo (= HailoRT) version.

The table is ``hailo_zoo.json`` beside this file (sources in its ``_about``). It is read by
``pibench models hefs`` and by scripts/fetch-pi-models.sh, which runs this file with the
system's python3 (stdlib only, no pibench import)::

    python3 bench/models/hailo_zoo.py tsv 5.1.1        # file<TAB>url<TAB>sha256|-  (llm, vlm)
    python3 bench/models/hailo_zoo.py check 5.1.1 DIR  # sha256 of the HEFs in DIR, exit 1 on a
                                                       # mismatch
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(os.environ.get("PIBENCH_HAILO_ZOO_TABLE")
             or Path(__file__).with_name("hailo_zoo.json"))
"""The table (PIBENCH_HAILO_ZOO_TABLE replaces it, for tests)."""
FETCHED_KINDS = ("llm", "vlm")
"""What the fetch script downloads by default (Whisper is listed, not fetched)."""


@dataclass(frozen=True)
class Hef:
    name: str
    file: str
    url: str
    kind: str
    model_size_published: str
    hailo_ollama: str | None
    sha256: str | None
    sha256_source: str


def versions() -> list[str]:
    return sorted(json.loads(TABLE.read_text(encoding="utf-8"))["versions"])


def zoo_version(hailort: str | None) -> str | None:
    """The table for a HailoRT version ("5.1.1", "5.1.1-1", "v5.1.1"), None if there is none."""
    if not hailort:
        return None
    v = hailort.strip().lstrip("v").split("-")[0].split("+")[0]
    return v if v in versions() else None


def table(version: str) -> list[Hef]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))["versions"]
    if version not in data:
        raise KeyError(version)
    return [Hef(**entry) for entry in data[version]]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(hef: Hef, path: Path) -> tuple[bool | None, str]:
    """(True: hash matches, False: it does not, None: no published hash; one line)."""
    digest = sha256_of(path)
    if hef.sha256 is None:
        return None, f"{path.name}: sha256 {digest} (no published hash to check against)"
    if digest == hef.sha256:
        return True, f"{path.name}: sha256 {digest} ok ({hef.sha256_source})"
    return False, (f"{path.name}: sha256 {digest} does not match {hef.sha256} "
                   f"({hef.sha256_source}): a broken download, or a HEF of another zoo version")


def _main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "tsv":
        try:
            hefs = table(argv[1])
        except KeyError:
            print(f"no Hailo model zoo table for HailoRT {argv[1]} (pibench knows "
                  f"{', '.join(versions())})", file=sys.stderr)
            return 2
        for h in hefs:
            if h.kind in FETCHED_KINDS:
                print(f"{h.file}\t{h.url}\t{h.sha256 or '-'}")
        return 0
    if len(argv) == 3 and argv[0] == "check":
        bad = 0
        for h in table(argv[1]):
            path = Path(argv[2]) / h.file
            if path.is_file():
                ok, line = check_file(h, path)
                print(line)
                bad += ok is False
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
