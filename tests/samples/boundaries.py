"""Samples for /boundaries' templates: suggested, own and stage boundaries, hostile text."""

from __future__ import annotations

from typing import Any

from tests.samples.foundation import LONG_NAME, NAME, NOW

REVIEW = [
    {"name": NAME, "zone": "Pacific/Kiritimati", "moment": NOW},
    {"name": LONG_NAME, "zone": None, "moment": NOW},
]
OWN_TEXT = "<b>" + "y" * 153 + "</b>"  # the longest allowed, markup included
TOO_LONG = "that was 4096 characters; a boundary fits in 160."


def boundary(**fields: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "text": None,
        "suggestion": "no_hiding",
        "title": "Nothing deleted or hidden, in messages or online",
        "source": "suggested",
        "stage": None,
        "by": NAME,
        "agreed_by": LONG_NAME,
        "binds": [NAME, LONG_NAME],
        "state": "active",
        "loosened": 0,
        "review": REVIEW,
        "same_day": False,
        **fields,
    }


SUGGESTED = boundary()
OWN = boundary(
    text=OWN_TEXT,
    suggestion=None,
    title=None,
    source="own",
    by=LONG_NAME,
    agreed_by=None,
    binds=[LONG_NAME],
    loosened=2,
    state="reviewing",
)
STAGE = boundary(text=OWN_TEXT, suggestion=None, title=None, source="stage", stage=3)
NO_CONTACT = boundary(suggestion="no_contact", title="Contact with the third person ends")

PROPOSED = {
    "text": None,
    "title": "Nothing deleted or hidden, in messages or online",
    "source": "suggested",
    "binds": [NAME, LONG_NAME],
    "binds_them": True,
}
PROPOSED_STAGE = {
    "text": OWN_TEXT,
    "title": None,
    "source": "stage",
    "binds": [LONG_NAME],
    "binds_them": False,
}

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "boundaries/list": [
        {
            "boundaries": [OWN] * 5,
            "groups": [
                {"binds": [NAME], "boundaries": [{**OWN, "number": n} for n in (1, 3, 5)]},
                {"binds": [NAME, LONG_NAME], "boundaries": [{**OWN, "number": n} for n in (2, 4)]},
                {"binds": [LONG_NAME], "boundaries": []},
            ],
            "stages": [STAGE] * 5,
            "ended": 40,
            "ended_stages": 3,
            "infidelity": True,
        },
        {
            "boundaries": [SUGGESTED, {**OWN, "same_day": True}],
            "groups": [
                {"binds": [NAME], "boundaries": [{**SUGGESTED, "number": 1}]},
                {"binds": [LONG_NAME], "boundaries": [{**OWN, "same_day": True, "number": 2}]},
            ],
            "stages": [],
            "ended": 0,
            "ended_stages": 0,
            "infidelity": False,
        },
        {
            "boundaries": [],
            "groups": [],
            "stages": [],
            "ended": 1,
            "ended_stages": 0,
            "infidelity": True,
        },
        {
            "boundaries": [],
            "groups": [],
            "stages": [],
            "ended": 0,
            "ended_stages": 0,
            "infidelity": False,
        },
    ],
    "boundaries/added": [
        {"boundary": SUGGESTED},
        {"boundary": OWN},
        {"boundary": STAGE},
        {"boundary": NO_CONTACT},
    ],
    "boundaries/ask_own": [
        {"partner": NAME, "error": None},
        {"partner": LONG_NAME, "error": TOO_LONG},
    ],
    "boundaries/ask_stage": [
        {"partner": NAME, "error": None},
        {"partner": NAME, "error": TOO_LONG},
    ],
    "boundaries/ask_date": [
        {
            "partner": NAME,
            "boundary": OWN,
            "zone": None,
            "error": "I need a date between tomorrow and a year from now.",
            "typed": "<u>" * 30,
        },
        {
            "partner": NAME,
            "boundary": SUGGESTED,
            "zone": "Europe/Berlin",
            "error": None,
            "typed": "",
        },
    ],
    "boundaries/ask_reword": [
        {"partner": LONG_NAME, "boundary": OWN, "error": None},
        {"partner": NAME, "boundary": STAGE, "error": TOO_LONG},
    ],
    "boundaries/date_set": [{"name": NAME, "boundary": OWN}],
    "boundaries/not_surveillance": [{"name": NAME}],
    "boundaries/not_control": [
        {"name": NAME, "kind": kind}
        for kind in ("isolation", "reachability", "money", "clothes", "sex")
    ],
    "boundaries/too_long": [{"limit": 160, "length": 4096}],
    "boundaries/full": [{"limit": 10}],
    "boundaries/review": [
        {
            "boundary": OWN,
            "added_at": NOW,
            "late": True,
            "asked_by": NAME,
            "chosen": [NAME],
            "waiting": [LONG_NAME],
        },
        {
            "boundary": STAGE,
            "added_at": NOW,
            "late": False,
            "asked_by": None,
            "chosen": [],
            "waiting": [NAME, LONG_NAME],
        },
    ],
    "boundaries/outcome": [
        {
            "result": result,
            "boundary": b,
            "choices": [{"name": NAME, "choice": "Keep"}, {"name": LONG_NAME, "choice": "End"}],
            "ended_by": ended_by,
        }
        for result, ended_by in (("keep", None), ("loosen", None), ("end", None), ("end", NAME))
        for b in (OWN, STAGE)
    ],
    "boundaries/reworded": [
        {"name": NAME, "agreed_by": LONG_NAME, "boundary": OWN},
        {"name": NAME, "agreed_by": None, "boundary": SUGGESTED},
    ],
    "boundaries/ask_binds": [
        {"owner": NAME, "names": [NAME, LONG_NAME], "proposed": PROPOSED},
        {"owner": LONG_NAME, "names": [LONG_NAME, NAME], "proposed": PROPOSED_STAGE},
    ],
    "boundaries/proposed": [
        {"owner": NAME, "partner": LONG_NAME, "proposed": PROPOSED},
        {"owner": LONG_NAME, "partner": NAME, "proposed": PROPOSED_STAGE},
    ],
    "boundaries/reword_proposed": [
        {"owner": NAME, "partner": LONG_NAME, "boundary": OWN, "text": OWN_TEXT},
    ],
    "boundaries/moved_on": [{}],
    "boundaries/usage": [{}],
}
