"""Debian's FAQ as a labelled retrieval set: each section's heading is a question, its body the answer.

The FAQ ships as plain text in the ``debian-faq`` package (``usr/share/doc/debian/FAQ/debian-faq.en.txt.gz``),
fetched without root: ``apt-get download debian-faq`` then ``dpkg-deb -x``. Section headings start at
column 0 (``3.1.2. Will there be different versions...``, wrapped over further column-0 lines); answers are
indented. Cross-references inside answers quote the other section's question ("see Section 4.4, “How source
code compatible is ...?”"); they are cut to "Section 4.4" so a query cannot find its answer through another
section quoting it.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FAQ_TEXT = "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
MIN_ANSWER_WORDS = 15

_HEADING = re.compile(r"^(\d+(?:\.\d+)+)\.\s+(\S.*)$")
_CHAPTER = re.compile(r"^(Chapter|Appendix)\s+\S+\.\s")
_CROSS_REF = re.compile(r"((?:Section|Chapter)\s+[\d.]*\d),\s*“[^”]*”", re.DOTALL)


@dataclass(frozen=True)
class Pair:
    number: str  # "3.1.2"
    question: str
    answer: str


def fetch(data_dir: Path) -> Path:
    """The FAQ's text, fetched and extracted once into ``data_dir`` (cached)."""
    text = data_dir / FAQ_TEXT
    if text.exists():
        return text
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is not available: this benchmark fetches Debian's FAQ with `apt-get download debian-faq` "
                f"and `dpkg-deb -x`. Run it on Debian/Ubuntu, or extract the package into {data_dir} yourself."
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in data_dir.glob("debian-faq_*.deb"):
        old.unlink()
    done = subprocess.run(["apt-get", "download", "debian-faq"], cwd=data_dir, capture_output=True, text=True)
    packages = sorted(data_dir.glob("debian-faq_*.deb"))
    if done.returncode != 0 or not packages:
        raise SystemExit(f"apt-get download debian-faq failed: {done.stderr.strip() or done.stdout.strip()}")
    subprocess.run(["dpkg-deb", "-x", str(packages[-1]), str(data_dir)], check=True)
    if not text.exists():
        raise SystemExit(f"{packages[-1].name} has no {FAQ_TEXT}; the package layout changed.")
    return text


def read(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8")


def parse(text: str) -> list[Pair]:
    """(number, question, answer) for every section whose answer has at least MIN_ANSWER_WORDS words."""
    lines = text.replace("\u00a0", " ").splitlines()
    sections: list[tuple[str, list[str], list[str]]] = []  # number, heading lines, body lines
    in_heading = False
    for line in lines:
        opening = _HEADING.match(line)
        if opening:
            sections.append((opening.group(1), [opening.group(2)], []))
            in_heading = True
        elif _CHAPTER.match(line):
            sections.append(("", [], []))  # a chapter title ends the section before it; it is not a question
            in_heading = False
        elif sections:
            if in_heading and line and not line[0].isspace():
                sections[-1][1].append(line)
            else:
                in_heading = False
                sections[-1][2].append(line)
    pairs = []
    for number, heading, body in sections:
        if not number:
            continue
        answer = _CROSS_REF.sub(r"\1", _dedent(body)).strip()
        if len(answer.split()) >= MIN_ANSWER_WORDS:
            pairs.append(Pair(number, " ".join(" ".join(heading).split()), answer))
    return pairs


def _dedent(body: list[str]) -> str:
    indents = [len(line) - len(line.lstrip()) for line in body if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:].rstrip() for line in body)


def write_answers(pairs: list[Pair], root: Path) -> None:
    """One Markdown document per answer, titled by its section number only: the question is not indexed."""
    root.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        body = f"# Debian FAQ section {pair.number}\n\n{pair.answer}\n"
        (root / f"faq-{pair.number}.md").write_text(body, encoding="utf-8")
