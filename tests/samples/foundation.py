"""Samples for the foundation's templates: onboarding, membership, settings, help, privacy.

Samples use hostile and long values on purpose: names with markup, long group titles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # a daylight-saving night in Europe
NAME = 'Alex <b>&amp; "co"</b>'
LONG_NAME = "Maximiliane-Alexandra " * 3
# What someone typed, repeated back at its longest (bot.render.TYPED_SHOWN), markup and all.
TYPED = ("<b>typed</b> & " * 4)[:39] + "…"
PARTNER = {
    "name": NAME,
    "timezone": "Australia/Lord_Howe",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
    "role": "repairing",
    "private_chat": True,
    "language": "English",
}
UNSET_PARTNER = {
    **PARTNER,
    "name": LONG_NAME,
    "timezone": None,
    "quiet_start": None,
    "quiet_end": None,
    "role": None,
    "private_chat": False,
}
SECTIONS = [
    {
        "title": "Getting started",
        "commands": [{"name": f"command{i}", "description": "x" * 256} for i in range(12)],
    },
    {"title": "Your data", "commands": [{"name": "export", "description": "Get your data"}]},
]

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "common/group_only": [{}],
    "common/not_set_up": [{}],
    "common/join_first": [{}],
    "common/outsider": [{"name": NAME, "partners": [NAME, LONG_NAME]}],
    "common/stranger": [{}],
    "common/question_closed": [{}],
    "common/not_your_question": [
        {"name": LONG_NAME, "asked": asked, "hint": hint, "command": "timezone"}
        for asked in (NAME, "")
        for hint in ("closed", "button", "theirs", "command")
    ],
    "common/open_private": [{}],
    "common/prompts_paused": [{}],
    "common/flood": [{}],
    "common/closing": [{}, {"private": True}],
    "audience/choose": [
        {
            "again": again,
            "current": current,
            "members": members,
            "others": max(0, (members or 0) - 3),
            "here": here,
            "waiting_for": waiting,
        }
        for again, current in ((False, None), (True, "private"), (True, "group"), (True, None))
        for members, here, waiting in ((4, [NAME], [LONG_NAME]), (None, [], [NAME, LONG_NAME]))
    ],
    "audience/decided": [
        {"choice": "private", "by": NAME},
        {"choice": "group", "by": LONG_NAME},
    ],
    "audience/waiting": [{"name": NAME}],
    "onboarding/replace_offer": [{"newcomer_name": LONG_NAME, "names": [NAME, LONG_NAME]}],
    "onboarding/replace_agree": [
        {"leaving_name": NAME, "newcomer_name": LONG_NAME, "other_name": LONG_NAME}
    ],
    "onboarding/replace_declined": [{"names": [NAME, LONG_NAME]}],
    "onboarding/replaced": [{"newcomer_name": LONG_NAME, "leaving_name": NAME}],
    "help/help": [
        {"sections": SECTIONS, "private": True},
        {"sections": SECTIONS, "private": False},
    ],
    "help/unknown_command": [
        {
            "typed": TYPED,
            "suggestion": "checklist",
            "description": "x" * 256,
            "arguments": TYPED,
            "private": private,
        }
        for private in (True, False)
    ]
    + [{"typed": TYPED, "suggestion": None, "description": "", "arguments": "", "private": True}],
    "membership/partner_back": [{"name": NAME}],
    "membership/partner_left": [{"name": NAME}],
    "membership/removed_notice": [
        {"group": NAME * 10, "erase_at": NOW, "timezone": "Pacific/Kiritimati", "days": 365},
        {"group": "", "erase_at": NOW, "timezone": None, "days": 1},
    ],
    "membership/welcome_back": [{"names": [NAME, LONG_NAME]}],
    "onboarding/choose_path": [{"names": [NAME, LONG_NAME]}],
    "onboarding/choose_roles": [
        {"path": "repair", "chosen_by": NAME},
        {"path": "new", "chosen_by": ""},
    ],
    "onboarding/path_proposed": [
        {"owner": NAME, "partner": LONG_NAME, "proposed": path} for path in ("repair", "new")
    ],
    "onboarding/roles_proposed": [
        {"owner": NAME, "partner": LONG_NAME, "roles": {NAME: "repairing", LONG_NAME: "hurt"}},
        {"owner": LONG_NAME, "partner": NAME, "roles": {}},
    ],
    "onboarding/joined": [{"name": NAME, "waiting": True}, {"name": LONG_NAME, "waiting": False}],
    "onboarding/link_invalid": [{}],
    "onboarding/private_link": [{"name": NAME}],
    "onboarding/private_welcome": [
        {"name": NAME, "via_link": True, "groups": [NAME, LONG_NAME], "timezone": None},
        {"name": NAME, "via_link": False, "groups": [], "timezone": "Europe/Berlin"},
    ],
    "onboarding/ready": [
        {
            "path": "repair",
            "roles": {NAME: "repairing", LONG_NAME: "hurt"},
            "names": [NAME, LONG_NAME],
        },
        {"path": "new", "roles": {}, "names": [NAME, LONG_NAME]},
    ],
    "onboarding/roles_updated": [
        {"path": "new", "roles": {NAME: "learning", LONG_NAME: "supporting"}},
        {"path": "repair", "roles": {}},
    ],
    "onboarding/status": [{"day": 365, "path": "repair", "names": [NAME, LONG_NAME]}],
    "onboarding/waiting": [{"names": [NAME]}],
    "onboarding/welcome": [
        {"erase_days": 14, "others": 0},
        {"erase_days": 14, "others": 1},
        {"erase_days": 365, "others": 197},
    ],
    "privacy/export_caption": [{"count": 1}, {"count": 3}],
    "privacy/export_sent": [{"name": NAME}],
    "privacy/export_unreachable": [{"name": NAME}],
    "privacy/forget_confirm": [
        {"name": NAME, "days": 7, "alone": False},
        {"name": LONG_NAME, "days": 7, "alone": True},
    ],
    "privacy/forget_done": [{"name": NAME}, {"name": ""}],
    "privacy/forget_closing": [
        {
            "name": NAME,
            "other": LONG_NAME,
            "other_private": private,
            "erase_at": NOW,
            "times": [
                {"name": NAME, "zone": "Pacific/Kiritimati"},
                {"name": LONG_NAME, "zone": None},
            ],
        }
        for private in (True, False)
    ],
    "privacy/forget_notice": [
        {"name": NAME, "group": NAME * 10, "erase_at": NOW, "zone": "Australia/Lord_Howe"},
        {"name": LONG_NAME, "group": "", "erase_at": NOW, "zone": None},
    ],
    "privacy/forget_now_confirm": [{"group": NAME * 10, "erase_at": NOW, "zone": None}],
    "privacy/forget_in_group": [{}],
    "privacy/forget_kept": [{}],
    "settings/language_choose": [
        {"private": True, "typed": ""},
        {"private": False, "typed": NAME[:40]},
    ],
    "settings/language_proposed": [
        {"owner": NAME, "partner": LONG_NAME, "language": "Deutsch"},
        {"owner": LONG_NAME, "partner": NAME, "language": None},
    ],
    "settings/language_set": [
        {"scope": "me", "language": "English", "auto": False},
        {"scope": "group", "language": "English", "auto": False},
        {"scope": "group", "language": "English", "auto": True},
    ],
    "settings/overview_group": [
        {
            "path": "repair",
            "day": 12,
            "language": "English",
            "partners": [PARTNER, UNSET_PARTNER],
            "now": NOW,
        },
        {"path": None, "day": None, "language": "English", "partners": [UNSET_PARTNER], "now": NOW},
    ],
    "settings/overview_private": [
        {"me": PARTNER, "groups": [NAME, LONG_NAME], "now": NOW},
        {"me": UNSET_PARTNER, "groups": [NAME], "now": NOW},
    ],
    "settings/quiet_set": [{"start": "22:00", "end": "07:00"}, {"start": None, "end": None}],
    "settings/quiet_show": [{"start": "22:00", "end": "07:00"}, {"start": None, "end": None}],
    "settings/quiet_usage": [{"typed": "<i>" * 10}],
    "settings/timezone_ask": [
        {"partner": NAME, "current": "America/Argentina/ComodRivadavia", "now": NOW},
        {"partner": NAME, "current": None, "now": NOW},
    ],
    "settings/timezone_set": [{"zone": "Asia/Kathmandu", "now": NOW}],
    "settings/timezone_suggest": [{"typed": "x" * 64}],
    "settings/timezone_unknown": [{"typed": "<script>alert(1)</script>"}],
    "settings/unavailable": [{}],
}
