"""Does Mend speak in its own words? Compares every sentence a person reads (content/<locale>/,
templates and labels) with the sentences of the two guides Mend is built from.

    scripts/own_words                      report what follows a guide too closely
    scripts/own_words --guides DIR         the guides elsewhere (default: ../shared/guides)
    scripts/own_words --content DIR        another content folder (an older checkout's, say)
    scripts/own_words --fingerprints       also rewrite tests/guide_runs.txt from the guides

Two kinds of finding, each with our sentence and the guide's:
- a run of 6 or more words in a row shared with a guide (tests/test_own_words.py checks this
  one without the guides, through the fingerprints kept in tests/guide_runs.txt);
- a sentence that follows a guide sentence's shape with a few words swapped (most of its words
  in the same order, however they are split).
The exit status is 1 if anything was found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.own_words import (  # noqa: E402
    CONTENT,
    FINGERPRINTS,
    RUN,
    Stretch,
    guide_fingerprints,
    guide_sentences,
    runs,
    sentences,
    stretches,
    words,
)

SIMILAR = 0.6  # share of words in the same order (difflib's ratio) that makes two sentences alike
SHORTEST = 7  # sentences shorter than this (ours or the guide's) have too little shape to judge


@dataclass(frozen=True)
class GuideSentence:
    guide: str
    text: str
    words: tuple[str, ...]


def read_guides(guides: Path) -> list[GuideSentence]:
    return [GuideSentence(name, text, tuple(words(text))) for name, text in guide_sentences(guides)]


def longest_shared(ours: list[str], theirs: tuple[str, ...]) -> list[str]:
    match = SequenceMatcher(None, ours, theirs, autojunk=False).find_longest_match()
    return ours[match.a : match.a + match.size]


def copied_runs(pieces: Iterable[Stretch], guide: list[GuideSentence]) -> list[str]:
    """Runs of RUN words or more that a stretch shares with a guide sentence."""
    where_run: dict[tuple[str, ...], GuideSentence] = {}
    for theirs in guide:
        for run in runs(theirs.text):
            where_run.setdefault(run, theirs)
    found = []
    for piece in pieces:
        for sentence in sentences(piece.text):
            hits = [where_run[run] for run in runs(sentence) if run in where_run]
            if hits:
                shared = longest_shared(words(sentence), hits[0].words)
                found.append(
                    f"{piece.where}\n  ours:  {sentence}\n  guide: {hits[0].text}\n"
                    f"  {len(shared)} words in a row: “{' '.join(shared)}”"
                )
    return found


def alike(pieces: Iterable[Stretch], guide: list[GuideSentence]) -> list[str]:
    """Sentences whose words mostly follow one guide sentence, in the same order."""
    pairs: dict[tuple[str, str], list[GuideSentence]] = {}
    for theirs in guide:
        for pair in pairwise(theirs.words):
            pairs.setdefault(pair, []).append(theirs)
    found = []
    for piece in pieces:
        for text in sentences(piece.text):
            ours = words(text)
            if len(ours) < SHORTEST:
                continue
            candidates = {id(s): s for pair in pairwise(ours) for s in pairs.get(pair, ())}
            for sentence in candidates.values():
                if len(sentence.words) < SHORTEST:
                    continue
                ratio = SequenceMatcher(None, ours, sentence.words, autojunk=False).ratio()
                if ratio >= SIMILAR:
                    found.append(
                        f"{piece.where}\n  ours:  {text}\n  guide: {sentence.text}\n"
                        f"  {ratio:.0%} of the words in the same order"
                    )
                    break
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guides", type=Path, default=ROOT.parent / "shared" / "guides")
    parser.add_argument("--content", type=Path, default=CONTENT)
    parser.add_argument("--fingerprints", action="store_true", help="rewrite " + FINGERPRINTS.name)
    options = parser.parse_args()
    if not sorted(options.guides.glob("*.txt")):
        print(f"No guides in {options.guides}; name their folder with --guides.", file=sys.stderr)
        return 2
    guide = read_guides(options.guides)
    if options.fingerprints:
        known = sorted(guide_fingerprints(options.guides))
        header = f"# Fingerprints of every run of {RUN} words in the guides (scripts/own_words).\n"
        FINGERPRINTS.write_text(header + "\n".join(known) + "\n", encoding="utf-8")
        print(f"{FINGERPRINTS.relative_to(ROOT)}: {len(known)} runs")
    pieces = list(stretches(options.content))
    found = copied_runs(pieces, guide) + alike(pieces, guide)
    for finding in found:
        print(finding, end="\n\n")
    print(f"{len(found)} sentence(s) follow a guide too closely.", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
