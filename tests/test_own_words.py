"""Mend speaks in its own words: no sentence a person reads repeats a run of six words from the
guides it is built from. The guides aren't part of this repository; their runs are known here
only by fingerprint (tests/guide_runs.txt, written by `scripts/own_words --fingerprints`, which
also finds sentences that follow a guide sentence's shape with a few words swapped)."""

from __future__ import annotations

import pytest

from tests.own_words import (
    FINGERPRINTS,
    ROOT,
    RUN,
    Stretch,
    fingerprint,
    guide_fingerprints,
    known_runs,
    runs,
    sentences,
    stretches,
)

GUIDES = ROOT.parent / "shared" / "guides"


def copied(pieces: list[Stretch], known: set[str]) -> list[str]:
    return [
        f"{piece.where}: “{' '.join(run)}” in “{sentence}”"
        for piece in pieces
        for sentence in sentences(piece.text)
        for run in runs(sentence)
        if fingerprint(run) in known
    ]


def test_no_sentence_repeats_a_run_of_guide_words() -> None:
    pieces = list(stretches())
    assert {piece.where.split("/")[0] for piece in pieces} == {"de", "en"}
    found = copied(pieces, known_runs())
    assert not found, "in Mend's own words, please:\n" + "\n".join(found)


def test_a_copied_run_is_recognised() -> None:
    """A boundary label as it once was, taken word for word from a guide's list, is found; its
    rewording is not."""
    known = known_runs()
    assert len(known) > 1000
    labels = "en/boundaries/labels.toml"
    before = [Stretch(labels, "No deleting messages or hiding social activity")]
    after = [Stretch(labels, "Nothing deleted or hidden, in messages or online")]
    assert len(copied(before, known)) == 2  # seven words in a row: two runs of six
    assert copied(after, known) == []
    assert RUN == 6


def test_the_fingerprints_are_those_of_the_guides() -> None:
    if not sorted(GUIDES.glob("*.txt")):
        pytest.skip("the guides live beside the project, in ../shared/guides")
    assert known_runs(FINGERPRINTS) == guide_fingerprints(GUIDES), (
        "the guides changed: scripts/own_words --fingerprints"
    )
