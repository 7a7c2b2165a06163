"""Samples for /journal and the self-work tools: full pages of long entries, every branch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.couples import short_title
from tests.samples.foundation import LONG_NAME, NAME
from tests.samples.which import TITLE

AT = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
EXCERPT = ("<b>Ich</b> & “du” " * 20)[:280] + "…"  # the longest an entry shows on a page
# An entry of another group: its title as the menu shows it, and more answers than a page shows.
LONG_ENTRY = {
    "at": AT,
    "prompt": "free",
    "answers": [EXCERPT, EXCERPT],
    "more": 38,
    "group": short_title(TITLE),
}
SIGNS = ["withholding", "overshadow", "scanning", "doubts", "checking", "expect_hurt"]
WORDS = "<i>late reply</i> & “plans” " * 6
OWN = "<b>my own</b> words & more " * 40  # 1000 characters, the most an edit keeps
LOOP = ("<b>loop</b>" * 100)[:500]  # the longest loop /reflect takes, which a draft can start from
# How a draft is worded: for each path and role, from /trigger and from /reflect (whose draft
# starts from the longest "what I know" it keeps).
WORDINGS = [
    {"source": source, "known": OWN if source == "reflect" else None, "path": path, "role": role}
    for source in ("trigger", "reflect")
    for path, role in (
        ("repair", "hurt"),
        ("repair", "repairing"),
        ("repair", None),
        ("new", "learning"),
        ("new", "supporting"),
        (None, None),
    )
]
REFLECTED = next(w for w in WORDINGS if w["source"] == "reflect" and w["role"] == "hurt")
# A typed answer asked again: the reason, with a worst-case number.
AGAIN = ({"error": None}, {"error": "That's 4088 characters, 1000 at most here, please."})

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "journal/private_only": [
        {"name": NAME, "command": command, "linked": linked}
        for command in ("journal", "trigger", "selfcheck")
        for linked in (True, False)
    ],
    "journal/menu": [
        {
            "entries": [LONG_ENTRY] * 5,
            "page": 2,
            "pages": 40,
            "total": 200,
            "zone": "Australia/Lord_Howe",
            "new_path": True,
            "group": TITLE,
        },
        {
            "entries": [
                {"at": AT, "prompt": p, "answers": [NAME], "group": None}
                for p in ("fear", "free", "reflect")
            ],
            "page": 1,
            "pages": 1,
            "total": 3,
            "zone": None,
            "new_path": False,
            "group": None,
        },
        {
            "entries": [],
            "page": 1,
            "pages": 1,
            "total": 0,
            "zone": None,
            "new_path": False,
            "group": NAME,
        },
    ],
    "journal/ask": [
        {"partner": LONG_NAME, "prompt": prompt, "part": part, **again}
        for prompt, part in (
            ("decision", 0),
            ("decision", 1),
            ("fear", 0),
            ("fear", 1),
            ("free", 0),
        )
        for again in AGAIN
    ],
    "journal/keep_offer": [{"count": count} for count in (1, 40)],
    "journal/keep_done": [
        {"kept": kept, "count": count} for kept in (True, False) for count in (1, 40)
    ],
    "journal/not_words": [{}],
    "journal/saved": [
        {"prompt": p, "group": group}
        for p in ("decision", "fear", "free", "reflect")
        for group in (None, TITLE)
    ],
    "journal/selfcheck_question": [
        {"index": i, "total": len(SIGNS), "question": sign} for i, sign in enumerate(SIGNS)
    ],
    "journal/selfcheck_reading": [
        {"signs": SIGNS, "many": True},
        {"signs": ["doubts"], "many": False},
        {"signs": [], "many": False},
    ],
    "journal/setback_question": [
        {"index": i, "total": 5, "question": q}
        for i, q in enumerate(("heard", "repeated", "talking", "effort", "afraid"))
    ],
    "journal/setback_reading": [
        {"flags": ["heard", "repeated", "talking", "effort"], "afraid": False},
        {"flags": ["heard"], "afraid": True},
        {"flags": [], "afraid": False},
    ],
    "journal/ladder": [
        {
            "rungs": [
                {"text": ("<b>x</b>" * 100)[:200], "idea": None, "shared": True, "response": r}
                for r in ("care", "mixed", "hard", None)
            ]
            * 3,
            "full": True,
        },
        {
            "rungs": [
                {"text": None, "idea": idea, "shared": False, "response": None}
                for idea in ("small_worry", "comfort", "lesson", "old_hurt", "need", "big_fear")
            ],
            "full": False,
        },
        {"rungs": [], "full": False},
    ],
    "journal/ladder_ask": [{"partner": LONG_NAME, **again} for again in AGAIN],
    "journal/ladder_ideas": [{}],
    "journal/ladder_response_ask": [{}],
    "journal/ladder_response": [{"response": r} for r in ("care", "mixed", "hard")],
    "journal/trigger_ask": [{"partner": LONG_NAME, **again} for again in AGAIN],
    "journal/trigger_moved": [{"name": NAME}],
    "journal/trigger_statement": [{"what": WORDS, "text": None, **wording} for wording in WORDINGS]
    + [{"what": WORDS, "text": OWN, **WORDINGS[0]}],
    "journal/trigger_draft": [
        {"what": WORDS, "text": None, "group": LONG_NAME * 4, **wording} for wording in WORDINGS
    ]
    + [
        {"what": LOOP, "text": None, "group": LONG_NAME * 4, **REFLECTED},
        {"what": WORDS, "text": OWN, "group": "", **WORDINGS[0]},
    ],
    "journal/trigger_shared": [
        {"name": NAME, "what": WORDS, "text": None, "author_locale": "de", **wording}
        for wording in WORDINGS
    ]
    + [
        {"name": LONG_NAME, "what": LOOP, "text": None, "author_locale": "en", **REFLECTED},
        {"name": LONG_NAME, "what": WORDS, "text": OWN, "author_locale": "en", **WORDINGS[0]},
    ],
    "journal/trigger_done": [{"shared": True}, {"shared": False}],
    "journal/trigger_edit_ask": [{"partner": LONG_NAME, **again} for again in AGAIN],
    "journal/trigger_closed": [{}],
    "journal/reflect_loop_ask": [{"partner": LONG_NAME, **again} for again in AGAIN],
    "journal/reflect_notice": [{}],
    "journal/reflect_known_ask": [
        {"partner": LONG_NAME, "circling": circling, **again}
        for circling in (True, False)
        for again in AGAIN
    ],
    "journal/reflect_step": [{}],
    "journal/reflect_done": [
        {"loop": LOOP, "known": OWN, "choice": choice, "looping": looping}
        for choice, looping in (("write", True), ("share", False), ("rest", False), ("kind", True))
    ],
}
