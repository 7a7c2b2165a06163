"""Onboarding: the greeting, "I'm in", the private link, the path and the roles.

Two partners at most: a third person is told kindly that the bot is for the two of them and can
change nothing. If someone tapped "I'm in" by mistake (a friend in the group, first), the right
person taps it too: that asks to take a place. One of the two partners gives theirs, the other
agrees, and the newcomer takes it; everything the couple set up stays (the one who left keeps
nothing of theirs running: their open questions close, their timers stop). With more people in
the group than the two of them, the couple is asked, once both are in and before anything
personal is posted, where personal things should go (bot.audience).

Setup completes when both are in and the path (and, optionally, roles) are agreed; that day is
day 1 of the roadmap: every feature's recurring series starts (the timers' reconcilers), and
"couple.set_up" is emitted. The path and the roles are a flow (bot.flows): either partner
proposes, the other agrees (bot.consent: they bind both), and the buttons name partners by their
place in the couple, never by an id an old message could reuse. A proposal not agreed to during
setup is asked again; later, what was in place stays. Asked for with the events "setup.path"
and "setup.roles" (from /settings), they are chosen again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Chat, Update, User
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import audience
from bot.consent import proposal, propose
from bot.context import Command, MendContext, Services
from bot.couples import group_locale, joining, partner_locale
from bot.flows import STAY, Flow, Option, Rows, Run, Step, Turn, runner_of
from bot.guards import Asked, greet_stranger, partner_with_data, refuse, refuse_outsider
from bot.links import (
    JOIN,
    PRIVATE_LINK,
    deep_link,
    forget_links,
    greet,
    new_link,
    use_link,
    welcome_buttons,
)
from bot.messages import Buttons, group_message, link, reply
from bot.model import PATHS, ROLES_BY_PATH, Couple, Partner, utcnow

SETUP = "setup"  # the path, then the roles
REPLACE = "replace"  # someone asks to take a partner's place
SET_UP = "couple.set_up"  # the event of a couple that has just completed setup


# -- "I'm in" --------------------------------------------------------------------------------


async def join(update: Update, context: MendContext) -> None:
    """A person taps "I'm in": they become a partner, unless two already are."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and chat is not None and user is not None
    if chat.type == Chat.PRIVATE or user.is_bot:
        await query.answer()
        return
    services = context.mend
    existing = services.store.couple(chat.id)
    if existing is not None and existing.status == "closing":
        await refuse(update, context, existing, "common/closing", "alert.closing")
        return
    if existing is not None and existing.is_partner(user.id):
        locale = group_locale(services, existing)
        await query.answer(services.render.alert(locale, "alert.already_in"))
        return
    if existing is not None and existing.is_full:
        await refuse_outsider(update, context, existing)
        await _ask_for_a_place(context, existing, user)
        return

    now = utcnow()
    with services.store.transaction(chat.id) as tx:
        couple = tx.couple() or Couple(chat_id=chat.id, title=chat.title or "", created_at=now)
        couple.status = "active"
        # Their settings in another couple of theirs are theirs here too.
        couple.partners.append(
            joining(services.store, user.id, user.first_name, user.language_code, now)
        )
        token = new_link(tx, couple, user.id, now)
        tx.save(couple)
        # Enrolled and welcomed in one change: the welcome and its link are owed from now on.
        locale = group_locale(services, couple)
        joined = group_message(
            services, couple, "onboarding/joined", name=user.first_name, waiting=not couple.is_full
        )
        joined.buttons = _private_link(context, locale, user.first_name, token)
        services.outbox.put(tx, joined)

    await query.answer(services.render.alert(locale, "alert.welcome_in"))
    await services.outbox.deliver(context, chat.id)
    await audience.recount(context, chat.id)
    if couple.is_full and audience.where(services.store, chat.id) == "ask":
        # More than the two of them read this group: ask now where personal things go.
        with services.store.transaction(chat.id) as tx:
            audience.ask(tx, services, couple)
        await services.outbox.deliver(context, chat.id)
    if couple.is_full and couple.path is None:
        await ask_path(context, couple)


async def fresh_link(update: Update, context: MendContext, asked: Asked) -> None:
    """A partner asks for a new link to their private chat (the old one expired or was used)."""
    await asked.press.answer()
    await _send_link(
        context, asked.couple.chat_id, asked.partner.user_id, asked.first_name, asked.locale
    )


async def _send_link(
    context: MendContext, chat_id: int, user_id: int, name: str, locale: str
) -> None:
    """A fresh link to a partner's private chat, in the group (older ones stop working)."""
    services = context.mend
    with services.store.transaction(chat_id) as tx:
        current = tx.couple()
        assert current is not None
        token = new_link(tx, current, user_id)
        tx.save(current)
        message = group_message(services, current, "onboarding/private_link", name=name)
        message.buttons = _private_link(context, locale, name, token)
        services.outbox.put(tx, message)
    await services.outbox.deliver(context, chat_id)


def _private_link(context: MendContext, locale: str, name: str, token: str) -> Buttons:
    label = context.mend.render.label(locale, "onboarding.open_private", name=name)
    return [[link(label, deep_link(context.bot.username, token))]]


# -- a place taken by mistake --------------------------------------------------------------------


async def _ask_for_a_place(context: MendContext, couple: Couple, user: User) -> None:
    """Someone who isn't one of the two tapped "I'm in" during setup: the two may give them a
    place (one open request at a time; the same person asking again changes nothing). Once
    setup is done, a place isn't given: by then each partner has things of their own here
    (private entries, what binds them) that would stay behind with nobody to answer for them."""
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        if (
            current is None
            or not current.is_full
            or current.is_set_up
            or current.is_partner(user.id)
        ):
            return
        if any(r.data.get("newcomer") == user.id for r in runner_of(services).runs_in(tx, REPLACE)):
            return
        runner_of(services).start(
            tx,
            current,
            REPLACE,
            owner=None,
            data={
                "newcomer": user.id,
                "newcomer_name": user.first_name,
                "newcomer_language": user.language_code,
                "names": [p.name for p in current.partners],
            },
        )
    await services.outbox.deliver(context, couple.chat_id)


def _give(turn: Turn) -> str:
    """A partner gives their place; the other one is asked."""
    other = turn.couple.other(turn.partner.user_id)
    turn.data.update(
        leaving=turn.partner.user_id,
        leaving_name=turn.partner.name,
        other=other.user_id if other else None,
        other_name=other.name if other else "",
    )
    return "agree"


def _agreed_to_replace(turn: Turn) -> str | None:
    """The other partner agrees (the newcomer takes the place) or doesn't (nothing changes)."""
    if turn.partner.user_id != turn.data.get("other"):
        turn.toast, turn.alert = "alert.replace_not_yours", True
        return STAY
    if turn.value != "yes":
        return "declined"
    couple = turn.tx.couple()
    leaving = couple.partner(int(turn.data["leaving"])) if couple else None
    if (
        couple is None
        or leaving is None
        or couple.is_set_up  # asked during setup, answered after it: too late now
        or couple.is_partner(int(turn.data["newcomer"]))
    ):
        turn.toast, turn.alert = "alert.stale_button", True
        return None
    _replace(turn, couple, leaving)
    return "replaced"


def _replace(turn: Turn, couple: Couple, leaving: Partner) -> None:
    """Inside the transaction: the newcomer takes the leaving partner's place; nothing of the
    leaving partner's keeps running (their questions close, their timers and links go)."""
    services, tx = turn.services, turn.tx
    newcomer = joining(
        services.store,
        int(turn.data["newcomer"]),
        str(turn.data["newcomer_name"]),
        turn.data.get("newcomer_language"),
        utcnow(),
    )
    # Their questions close: those they started, and those waiting for their answer (a
    # proposal put to them).
    for run in runner_of(services).open_runs(tx):
        if leaving.user_id in (run.owner, run.asked, runner_of(services).waits_for(couple, run)):
            runner_of(services).close(tx, run)
    couple.partners = [newcomer if p.user_id == leaving.user_id else p for p in couple.partners]
    for partner in couple.partners:
        partner.role = None  # roles were chosen with the wrong person
    services.timers.cancel_partner(tx, leaving.user_id)
    forget_links(tx, couple, leaving.user_id)
    tx.save(couple)


async def _after_replace(context: MendContext, couple: Couple, run: Run) -> None:
    """The newcomer is in: their private link, and the couple's series again (theirs too)."""
    if run.step is not None or "leaving" not in run.data:
        return
    services = context.mend
    current = services.store.couple(couple.chat_id)
    newcomer = current.partner(int(run.data["newcomer"])) if current else None
    if current is None or newcomer is None:
        return
    if current.is_set_up and current.status == "active":
        services.timers.reconcile(current)
    locale = group_locale(services, current)
    await _send_link(context, current.chat_id, newcomer.user_id, newcomer.name, locale)
    # Setup under way named the one who left: its question comes again, with the right names.
    if current.path is None:
        await ask_path(context, current)
    elif not current.is_set_up:
        await ask_roles(context, current, chosen_by="")


REPLACE_FLOW = Flow(
    name=REPLACE,
    first="offer",
    finished=_after_replace,
    steps={
        "offer": Step(
            "onboarding/replace_offer",
            lambda run: [
                [Option("give", "onboarding.give_place", {"name": run.data["newcomer_name"]})]
            ],
            answer=_give,
            who="partners",
            edit=True,
        ),
        "agree": Step(
            "onboarding/replace_agree",
            [[Option("yes", "onboarding.replace_yes"), Option("no", "onboarding.replace_no")]],
            answer=_agreed_to_replace,
            who="partners",
            edit=True,
        ),
        "declined": Step("onboarding/replace_declined"),
        "replaced": Step("onboarding/replaced"),
    },
)


# -- path and roles ----------------------------------------------------------------------------


async def ask_path(context: MendContext, couple: Couple) -> None:
    """Which path fits them: then the roles (a new question; an older one goes stale)."""
    await _ask(context, couple, "path", {"names": [p.name for p in couple.partners]})


async def ask_roles(context: MendContext, couple: Couple, chosen_by: str) -> None:
    await _ask(
        context,
        couple,
        "roles",
        {
            "names": [p.name for p in couple.partners],
            "path": couple.path or "repair",
            "chosen_by": chosen_by,
        },
    )


async def _path_asked(context: MendContext, couple: Couple) -> None:
    await ask_path(context, couple)


async def _roles_asked(context: MendContext, couple: Couple) -> None:
    await ask_roles(context, couple, chosen_by="")


async def _ask(context: MendContext, couple: Couple, step: str, data: dict[str, Any]) -> None:
    services = context.mend
    with services.store.transaction(couple.chat_id) as tx:
        for earlier in runner_of(services).runs_in(tx, SETUP):
            runner_of(services).close(tx, earlier)
        runner_of(services).start(tx, couple, SETUP, owner=None, data=data, step=step)
    await services.outbox.deliver(context, couple.chat_id)


def _path_options(run: Run) -> Rows:
    return [[Option(path, f"path.{path}")] for path in PATHS]


def _path_proposed(turn: Turn) -> str:
    """A path chosen: proposed to the other partner."""
    propose(turn)
    turn.data["proposed"] = turn.value
    return "path_agreed"


def _path_agreed(turn: Turn) -> str:
    """The other agreed the path: it applies, and the roles (which depend on it) are asked."""
    current = turn.tx.couple()
    assert current is not None
    current.path = turn.data["proposed"]
    for partner in current.partners:
        partner.role = None
    turn.tx.save(current)
    proposer = current.partner(turn.run.owner or 0)
    turn.data.update(path=current.path, chosen_by=proposer.name if proposer else "")
    return "roles"


def _for_the_other(step: str, agreed: Callable[[Turn], str | None]) -> Step:
    """The proposal of the path or the roles, for the partner who didn't propose it. After a
    "not like this", during setup the question comes again, for either to propose; later what
    was in place stays and the run is done."""

    def declined(turn: Turn) -> str | None:
        current = turn.tx.couple()
        if current is not None and current.setup_completed_at is None:
            turn.run.owner = None
            return step
        return None

    return proposal(f"onboarding/{step}_proposed", what=step, agreed=agreed, declined=declined)


def _role_options(run: Run) -> Rows:
    path = run.data.get("path", "repair")
    first_role = ROLES_BY_PATH[path][0]
    rows = [
        [Option(f"partner_{index}", f"role.{first_role}", {"name": name})]
        for index, name in enumerate(run.data.get("names", []))
    ]
    if path == "new":
        rows.append([Option("both", "role.both_learning")])
    rows.append([Option("skip", "role.skip")])
    return rows


def _roles_of(couple: Couple, choice: str) -> dict[int, str | None]:
    """Each partner's role (by user id) as a roles button means it."""
    assert couple.path is not None
    first, second = ROLES_BY_PATH[couple.path]
    return {
        partner.user_id: None
        if choice == "skip"
        else first
        if choice in ("both", f"partner_{index}")
        else second
        for index, partner in enumerate(couple.partners)
    }


def _roles_proposed(turn: Turn) -> str:
    """Roles chosen: proposed to the other partner."""
    propose(turn)
    roles = _roles_of(turn.couple, str(turn.value))
    turn.data["proposed"] = turn.value
    turn.data["roles"] = {
        p.name: roles[p.user_id] for p in turn.couple.partners if roles[p.user_id]
    }
    return "roles_agreed"


def _roles_agreed(turn: Turn) -> str:
    """The roles as agreed; the first time, setup is complete: day 1."""
    current = turn.tx.couple()
    assert current is not None and current.path is not None
    roles = _roles_of(current, str(turn.data["proposed"]))
    for partner in current.partners:
        partner.role = roles[partner.user_id]
    newly_set_up = current.setup_completed_at is None
    if newly_set_up:
        current.setup_completed_at = utcnow()
    turn.tx.save(current)
    turn.data.update(
        path=current.path,
        roles={p.name: p.role for p in current.partners if p.role},
        set_up=newly_set_up,
    )
    return "ready" if newly_set_up else "updated"


async def _after_roles(context: MendContext, couple: Couple, run: Run) -> None:
    """A couple that has just completed setup: every feature's recurring series starts (as
    at start-up: rituals, check-ins, phases, ...; nothing is said, "ready" announced day 1),
    and the features that start with it hear of it."""
    if run.data.get("set_up"):
        services = context.mend
        current = services.store.couple(couple.chat_id) or couple
        if current.status == "active" and current.is_set_up:
            services.timers.reconcile(current)
        await services.emit(SET_UP, context, current)


SETUP_FLOW = Flow(
    name=SETUP,
    first="path",
    finished=_after_roles,
    steps={
        "path": Step(
            "onboarding/choose_path", _path_options, answer=_path_proposed, who="partners"
        ),
        "path_agreed": _for_the_other("path", _path_agreed),
        "roles": Step(
            "onboarding/choose_roles", _role_options, answer=_roles_proposed, who="partners"
        ),
        "roles_agreed": _for_the_other("roles", _roles_agreed),
        "ready": Step("onboarding/ready"),
        "updated": Step("onboarding/roles_updated"),
    },
)


# -- /start ----------------------------------------------------------------------------------


async def start_group(update: Update, context: MendContext) -> None:
    """/start in the group: where the couple stands, and the next step."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    assert chat is not None and user is not None and message is not None
    services = context.mend
    couple = services.store.couple(chat.id)
    thread_id = message.message_thread_id if message.is_topic_message else None
    if couple is None or not couple.partners:
        members = await audience.count_members(context, chat.id)
        await greet(
            context, chat, user.language_code, thread_id, others=audience.others_in(members)
        )
        return
    if couple.status == "closing":
        await refuse(update, context, couple, "common/closing", "alert.closing")
        return
    if not couple.is_partner(user.id) and couple.is_full:
        await refuse_outsider(update, context, couple)
        return
    locale = group_locale(services, couple, user.language_code)
    if not couple.is_full:
        await reply(
            update,
            context,
            locale,
            "onboarding/waiting",
            buttons=welcome_buttons(services, locale),
            names=[p.name for p in couple.partners],
        )
    elif couple.path is None:
        await ask_path(context, couple)
    elif not couple.is_set_up:
        await ask_roles(context, couple, chosen_by="")
    else:
        day = (utcnow().date() - couple.setup_completed_at.date()).days + 1  # type: ignore[union-attr]
        await reply(
            update,
            context,
            locale,
            "onboarding/status",
            day=day,
            path=couple.path,
            names=[p.name for p in couple.partners],
        )


async def start_private(update: Update, context: MendContext) -> None:
    """/start in private, usually through the deep link from the group."""
    user = update.effective_user
    assert user is not None
    services = context.mend
    payload = context.args[0] if context.args else None
    linked_chat = use_link(services.store, payload, user.id) if payload else None
    chat_ids = services.store.chats_of_user(user.id)
    if not chat_ids:
        if payload:
            locale = services.render.locale_for(user.language_code)
            await reply(update, context, locale, "onboarding/link_invalid")
        else:
            await greet_stranger(update, context)
        return

    def opened(partner: Partner) -> None:
        partner.private_chat = True
        partner.telegram_language = user.language_code or partner.telegram_language

    couples = services.store.update_person(user.id, opened)
    partner = couples[0].partner(user.id) if couples else None
    if partner is None:
        return
    await reply(
        update,
        context,
        partner_locale(services, partner),
        "onboarding/private_welcome",
        name=partner.name,
        via_link=linked_chat is not None,
        groups=[c.title for c in couples],
        timezone=partner.timezone,
    )
    for couple in couples:
        # Personal things kept for this partner until the private chat was open come now.
        await audience.deliver_waiting(context, couple.chat_id, partner)


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("start", "start", in_group=True, in_private=True))
    app.add_handler(CommandHandler("start", start_private, filters.ChatType.PRIVATE))
    app.add_handler(CommandHandler("start", start_group, filters.ChatType.GROUPS))
    app.add_handler(CallbackQueryHandler(join, pattern=f"^{JOIN}$"))
    # A fresh link works while a couple's data waits to be erased too: /export needs the chat.
    app.add_handler(
        CallbackQueryHandler(partner_with_data(fresh_link), pattern=f"^{PRIVATE_LINK}$")
    )
    runner_of(services).add(SETUP_FLOW, REPLACE_FLOW)
    services.on("setup.path", _path_asked)
    services.on("setup.roles", _roles_asked)
