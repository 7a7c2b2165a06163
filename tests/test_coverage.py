"""The README's guide coverage table: every section of both guides, none empty, real commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import build_application, services_of
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT.parent / "shared" / "guides"
TABLES = {
    "long-distance-trust-repair.txt": "Rebuilding trust in a long-distance relationship",
    "trust-again-new-relationship.txt": "Learning to trust again in a new relationship",
}


def headings(guide: Path) -> list[str]:
    """Section titles: short lines that aren't list items, labels, questions-and-answers or
    sentences (the guides are plain text)."""
    lines = [line.strip() for line in guide.read_text(encoding="utf-8").splitlines()]
    return [
        line
        for index, line in enumerate(lines)
        if index > 0
        and line
        and len(line) <= 90
        and not line.startswith("-")
        and not line.endswith((":", "."))
        and not re.match(r"^[QA]\d+:", line)
    ]


def table(title: str) -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"### {title}", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0] not in ("Section", "---"):
            rows[cells[0]] = cells[1]
    return rows


@pytest.mark.parametrize("guide", sorted(TABLES))
def test_every_section_is_served(guide: str) -> None:
    path = GUIDES / guide
    if not path.is_file():
        pytest.skip("the guides live beside the project, in ../shared/guides")
    rows = table(TABLES[guide])
    missing = [h for h in headings(path) if h not in rows]
    assert not missing, f"sections without a row in README.md: {missing}"
    unknown = [section for section in rows if section not in headings(path)]
    assert not unknown, f"rows for sections the guide doesn't have: {unknown}"
    empty = [section for section, served in rows.items() if not served.strip("`- ")]
    assert not empty, f"empty rows: {empty}"


def test_the_table_names_only_real_commands(tmp_path: Path) -> None:
    settings = Settings(
        token="123456:" + "A" * 35,
        api_base_url="http://127.0.0.1:9/bot",
        data_dir=tmp_path,
        erase_after_days=14,
        log_level="INFO",
    )
    commands = {c.name for c in services_of(build_application(settings)).commands}
    named = {
        name
        for title in TABLES.values()
        for served in table(title).values()
        for name in re.findall(r"`/([a-z_]+)", served)
    }
    assert named and named <= commands, f"not commands: {sorted(named - commands)}"


def test_techniques_served_beyond_the_first_version() -> None:
    """Naming the kind of breach, short stories of couples, and the new path's signs of progress
    each have their place."""
    repair = table(TABLES["long-distance-trust-repair.txt"])
    assert "/plan track" in repair["The Many Faces of Betrayal"]
    assert "/script" in repair["The Many Faces of Betrayal"]
    assert "/faq" in repair["Real-Life Examples (Relatable, Not Clinical)"]
    new = table(TABLES["trust-again-new-relationship.txt"])
    assert "/progress" in new["Look for These Positive Signs"]
