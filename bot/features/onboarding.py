"""Onboarding: the greeting, "I'm in", the private link, the path and the roles.

Two partners at most: a third person is told kindly that the bot is for the two of them and can
change nothing. Setup completes when both are in and the path (and, optionally, roles) are
chosen; that day is day 1 of the roadmap: every feature's recurring series starts (the timers'
reconcilers), and "couple.set_up" is emitted. The path and the roles are a flow (bot.flows):
either partner answers, and the buttons name partners by their place in the couple, never by an
id an old message could reuse. Asked for with the events "setup.path" and "setup.roles" (from
/settings), they are chosen again.
"""

from __future__ import annotations

from typing import Any

from telegram import Chat, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import Command, MendContext, Services
from bot.couples import group_locale, partner_locale
from bot.flows import Flow, Option, Rows, Run, Step, Turn
from bot.guards import Asked, partners_only, refuse_outsider
from bot.links import JOIN, PRIVATE_LINK, deep_link, greet, new_link, use_link, welcome_buttons
from bot.messages import Buttons, link, reply, say
from bot.model import PATHS, ROLES_BY_PATH, Couple, Partner, utcnow

SETUP = "setup"  # the path, then the roles
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
    if existing is not None and existing.is_partner(user.id):
        locale = group_locale(services, existing)
        await query.answer(services.render.alert(locale, "alert.already_in"))
        return
    if existing is not None and existing.is_full:
        await refuse_outsider(update, context, existing)
        return

    now = utcnow()
    with services.store.transaction(chat.id) as tx:
        couple = tx.couple() or Couple(chat_id=chat.id, title=chat.title or "", created_at=now)
        couple.status = "active"
        couple.partners.append(
            Partner(
                user_id=user.id,
                name=user.first_name,
                joined_at=now,
                telegram_language=user.language_code,
            )
        )
        token = new_link(tx, couple, user.id, now)
        tx.save(couple)

    locale = group_locale(services, couple)
    await query.answer(services.render.alert(locale, "alert.welcome_in"))
    waiting_for_other = not couple.is_full
    await say(
        context,
        chat.id,
        locale,
        "onboarding/joined",
        buttons=_private_link(context, locale, user.first_name, token),
        name=user.first_name,
        waiting=waiting_for_other,
    )
    if couple.is_full and couple.path is None:
        await ask_path(context, couple)


async def fresh_link(update: Update, context: MendContext, asked: Asked) -> None:
    """A partner asks for a new link to their private chat (the old one expired or was used)."""
    services = context.mend
    couple, locale, name = asked.couple, asked.locale, asked.first_name
    with services.store.transaction(couple.chat_id) as tx:
        current = tx.couple()
        assert current is not None
        token = new_link(tx, current, asked.partner.user_id)
        tx.save(current)
    await asked.press.answer()
    await say(
        context,
        couple.chat_id,
        locale,
        "onboarding/private_link",
        buttons=_private_link(context, locale, name, token),
        name=name,
    )


def _private_link(context: MendContext, locale: str, name: str, token: str) -> Buttons:
    label = context.mend.render.label(locale, "onboarding.open_private", name=name)
    return [[link(label, deep_link(context.bot.username, token))]]


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
        for earlier in services.runner.runs_in(tx, SETUP):
            services.runner.close(tx, earlier)
        services.runner.start(tx, couple, SETUP, owner=None, data=data, step=step)
    await services.outbox.deliver(context, couple.chat_id)


def _path_options(run: Run) -> Rows:
    return [[Option(path, f"path.{path}")] for path in PATHS]


def _path_chosen(turn: Turn) -> str:
    current = turn.tx.couple()
    assert current is not None
    current.path = turn.value
    for partner in current.partners:
        partner.role = None
    turn.tx.save(current)
    turn.data.update(path=turn.value, chosen_by=turn.partner.name)
    return "roles"


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


def _roles_chosen(turn: Turn) -> str:
    """The roles as chosen; the first time, setup is complete: day 1."""
    current = turn.tx.couple()
    assert current is not None and current.path is not None
    first, second = ROLES_BY_PATH[current.path]
    choice = str(turn.value)
    for index, partner in enumerate(current.partners):
        if choice == "skip":
            partner.role = None
        elif choice == "both":
            partner.role = first
        else:
            partner.role = first if choice == f"partner_{index}" else second
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
        "path": Step("onboarding/choose_path", _path_options, answer=_path_chosen, who="partners"),
        "roles": Step(
            "onboarding/choose_roles", _role_options, answer=_roles_chosen, who="partners"
        ),
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
        await greet(context, chat, user.language_code, thread_id)
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
        locale = services.render.locale_for(user.language_code)
        template = "onboarding/link_invalid" if payload else "common/stranger"
        await reply(update, context, locale, template)
        return
    couples: list[Couple] = []
    for chat_id in chat_ids:
        with services.store.transaction(chat_id) as tx:
            couple = tx.couple()
            partner = couple.partner(user.id) if couple else None
            if couple is None or partner is None:
                continue
            partner.private_chat = True
            partner.telegram_language = user.language_code or partner.telegram_language
            tx.save(couple)
            couples.append(couple)
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


def register(app: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    services.add_commands(Command("start", "start", in_group=True, in_private=True))
    app.add_handler(CommandHandler("start", start_private, filters.ChatType.PRIVATE))
    app.add_handler(CommandHandler("start", start_group, filters.ChatType.GROUPS))
    app.add_handler(CallbackQueryHandler(join, pattern=f"^{JOIN}$"))
    app.add_handler(CallbackQueryHandler(partners_only(fresh_link), pattern=f"^{PRIVATE_LINK}$"))
    services.runner.add(SETUP_FLOW)
    services.on("setup.path", _path_asked)
    services.on("setup.roles", _roles_asked)
