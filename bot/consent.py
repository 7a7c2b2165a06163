"""What binds both needs both: one partner proposes, and it applies when the other agrees.

A boundary, the roles, the path and the infidelity track, the group's language, the plan's
commitments: each is proposed by one partner and waits for the other's yes. A proposal is a step
of a flow (bot.flows) for the partner who isn't the run's owner (`Step.who == "other"`): the
owner proposed it, and only the other can agree or say not now. Agreeing applies it, in the same
transaction as the answer; a "not now" closes it kindly, with a word for each of them
(consent/declined), and whatever was in place before stays as it was.

What a proposal is about (`what`) names the sentences of its close: "boundary", "rewording",
"path", "roles", "track", "language", "plan".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from bot.flows import Option, Step, Turn
from bot.model import Partner
from bot.outbox import GROUP

AGREE = "yes"
NOT_NOW = "no"
OPTIONS = ((Option(AGREE, "consent.agree"), Option(NOT_NOW, "consent.not_now")),)
WHATS = ("boundary", "rewording", "path", "roles", "track", "language", "plan", "plan_delete")


def proposal(
    template: str,
    *,
    what: str,
    agreed: Callable[[Turn], str | None],
    declined: Callable[[Turn], str | None] | None = None,
    **step: Any,
) -> Step:
    """The step a proposal waits at, for the partner who didn't make it: their yes runs
    `agreed` (which applies it and names the next step); their "not now" closes it kindly and
    runs `declined`, if given, which names what follows a no (the question asked again, say;
    None: the run is done)."""
    if what not in WHATS:
        raise ValueError(f"unknown kind of proposal {what!r}")

    def answer(turn: Turn) -> str | None:
        if turn.value == AGREE:
            return agreed(turn)
        proposer = _proposer(turn)
        then = declined(turn) if declined is not None else None
        say_declined(turn, what, proposer=proposer, again=then is not None)
        return then

    return Step(template, OPTIONS, answer=answer, who="other", **step)


def _proposer(turn: Turn) -> str:
    owner = turn.couple.partner(turn.run.owner) if turn.run.owner is not None else None
    return owner.name if owner else ""


def propose(turn: Turn) -> None:
    """The partner answering this turn proposes what the next step puts to the other (a flow
    either partner may begin, like the setup's path and roles)."""
    turn.run.owner = turn.partner.user_id


def say_declined(
    turn: Turn, what: str, *, proposer: str | None = None, again: bool = False
) -> None:
    """The kind close of a proposal the other partner said "not now" to, with a word for each
    of them (`again`: the question comes again, for either to propose): where the proposal
    was made, in the group or (a proposal made in private) to each of them privately."""
    data = {
        "what": what,
        "proposer": _proposer(turn) if proposer is None else proposer,
        "decliner": turn.partner.name,
        "again": again,
    }
    readers: list[Literal["group"] | Partner] = (
        list(turn.couple.partners) if turn.run.where == "private" else [GROUP]
    )
    for reader in readers:
        turn.say(reader, "consent/declined", **data)
