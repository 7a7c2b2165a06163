"""The words a person reads in `content/`, and runs of them, for checking that Mend speaks in its
own words (tests/test_own_words.py, scripts/own_words).

Text is taken from every template (Jinja tags and comments removed, HTML tags dropped) and from
every label file. A Jinja expression or tag ends a stretch of text: a run of words never
continues across a name, a number or a branch. Guide sentences are compared as word runs; the
repository keeps only fingerprints of the guides' runs (`guide_runs.txt`), never their text.
"""

from __future__ import annotations

import hashlib
import html
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
FINGERPRINTS = Path(__file__).resolve().parent / "guide_runs.txt"
RUN = 6  # this many words in a row, shared with a guide, is a copied phrase

_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|\{[a-z_]+\}", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"[a-z0-9äöüß]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?;:…])\s+|\n+|\s[—–]\s")


@dataclass(frozen=True)
class Stretch:
    """Text a person reads, without markup, and where it comes from."""

    where: str
    text: str


def words(text: str) -> list[str]:
    """Lower-case words, typographic apostrophes made plain (”don’t” and ”don't” are one)."""
    return _WORD.findall(text.lower().replace("’", "'").replace("‘", "'"))


def runs(text: str, length: int = RUN) -> Iterator[tuple[str, ...]]:
    """Every run of `length` words in a row."""
    found = words(text)
    for start in range(len(found) - length + 1):
        yield tuple(found[start : start + length])


def fingerprint(run: tuple[str, ...]) -> str:
    """A short hash of a run of words: enough to recognise it, too little to recover it."""
    return hashlib.sha256(" ".join(run).encode()).hexdigest()[:10]


def sentences(text: str) -> list[str]:
    """Sentences, roughly: split at full stops, colons, semicolons, dashes and line ends."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _template_stretches(path: Path, where: str) -> Iterator[Stretch]:
    source = path.read_text(encoding="utf-8")
    for piece in _JINJA.split(source):
        text = html.unescape(_TAG.sub("", piece)).strip()
        if words(text):
            yield Stretch(where, text)


def _label_values(table: object, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(table, dict):
        for key, value in table.items():
            yield from _label_values(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(table, str):
        yield prefix, table
    elif isinstance(table, list):
        for index, value in enumerate(table):
            yield from _label_values(value, f"{prefix}[{index}]")


def stretches(content: Path = CONTENT) -> Iterator[Stretch]:
    """Every stretch of text in every locale's templates and labels (content/<locale>/; data
    beside them, such as the helplines' names, isn't Mend's voice)."""
    locales = [folder for folder in sorted(content.iterdir()) if folder.is_dir()]
    for path in sorted(p for locale in locales for p in locale.rglob("*")):
        where = str(path.relative_to(content))
        if path.suffix == ".j2":
            yield from _template_stretches(path, where)
        elif path.suffix == ".toml":
            labels = tomllib.loads(path.read_text(encoding="utf-8"))
            for key, value in _label_values(labels, ""):
                for piece in _JINJA.split(value):
                    if words(piece):
                        yield Stretch(f"{where} {key}", html.unescape(piece).strip())


def guide_sentences(guides: Path) -> Iterator[tuple[str, str]]:
    """(guide's file name, sentence) for every sentence of every guide in the folder."""
    for path in sorted(guides.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for sentence in sentences(line):
                yield path.name, sentence


def guide_fingerprints(guides: Path) -> set[str]:
    """The fingerprint of every run of RUN words within a guide sentence."""
    return {fingerprint(run) for _, sentence in guide_sentences(guides) for run in runs(sentence)}


def known_runs(path: Path = FINGERPRINTS) -> set[str]:
    """The fingerprints of the guides' runs of words, as kept in the repository."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}
