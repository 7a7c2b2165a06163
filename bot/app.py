"""Build the Application: settings, store, renderer, timers, then the features, in order."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
)
from telegram.request import HTTPXRequest

from bot import asks, audience, flood, polls, which
from bot.bot_api import LEDGER_FILE, MendApplication, MendBot, UpdateLedger
from bot.config import Settings
from bot.context import SERVICES_KEY, MendContext, Services
from bot.couples import move_couple
from bot.features import (
    boundaries,
    calm,
    checkins,
    journal,
    membership,
    onboarding,
    pause,
    plan,
    privacy,
    progress,
    repair_track,
    rituals,
    settings,
    support,
    talk,
    visit,
    windows,
)
from bot.features import help as help_feature
from bot.flows import Runner
from bot.lanes import CoupleLanes, lanes_of
from bot.messages import answer_stale
from bot.model import utcnow
from bot.network import RetryingRequest
from bot.outbox import OUTBOX_RETRY, RETRY_LATE_LIMIT, Outbox
from bot.quiet import arrives_silently
from bot.ratelimit import RateLimiter
from bot.render import Renderer
from bot.storage import Store
from bot.timers import Timers

log = logging.getLogger(__name__)

MendApp = Application[Any, MendContext, Any, Any, Any, Any]
STARTUP_JOB = "startup-tasks"

# Only what the bot handles; chat_member updates (other people's joins) come as service messages.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.POLL,
    Update.POLL_ANSWER,
]

# Registration order is the dispatch order within a group: membership and onboarding first.
FEATURES = (
    membership,
    onboarding,
    settings,
    privacy,
    help_feature,
    pause,
    windows,
    talk,
    calm,
    support,
    plan,
    boundaries,
    repair_track,
    visit,
    journal,
    polls,
    rituals,
    checkins,
    progress,
)


def build_application(settings_: Settings, *, rate_limit: bool = True) -> MendApp:
    """The whole bot, ready to run; opening the store happens here (it checks the data)."""
    if settings_.token is None:
        raise ValueError("build_application needs a token")
    store = Store(
        settings_.data_dir,
        data_key=settings_.data_key,
        older_keys=settings_.previous_data_keys,
    )
    store.open()
    timers = Timers(store)
    services = Services(
        settings=settings_,
        store=store,
        render=Renderer(),
        timers=timers,
        outbox=Outbox(store, timers),
        reads=timers.reads,  # the features set them; the timers read them too
    )
    runner = Runner(services)
    services.runner = runner

    bot = MendBot(
        settings_.token,
        base_url=settings_.api_base_url,
        base_file_url=settings_.file_base_url,
        request=_transport(RetryingRequest, 256, settings_.api_timeout),
        get_updates_request=_transport(HTTPXRequest, 1, settings_.api_timeout),
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            tzinfo=UTC,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        # Telegram's limits (about 30/s overall, 20/min per group), retrying on RetryAfter.
        rate_limiter=RateLimiter(max_retries=3) if rate_limit else None,
        ledger=UpdateLedger(
            settings_.data_dir / LEDGER_FILE, store.applied, keyring=lambda: store.keyring
        ),
        on_chat_migrated=lambda old, new: move_couple(services, old, new),
        silent=lambda chat_id: arrives_silently(store, chat_id, utcnow()),
    )
    builder = (
        ApplicationBuilder()
        .application_class(MendApplication)
        .bot(bot)
        .context_types(ContextTypes(context=MendContext))
        # Different couples' updates at the same time, each couple's in order (bot.lanes).
        .concurrent_updates(CoupleLanes(lambda update: lanes_of(store, update)))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    app: MendApp = builder.build()
    app.bot_data[SERVICES_KEY] = services
    assert app.job_queue is not None
    services.timers.attach(app.job_queue)

    timers.register(OUTBOX_RETRY, services.outbox.retry_due, late_limit=RETRY_LATE_LIMIT)
    asks.register(app, services)
    runner.register(app)
    audience.register(services)
    which.register(app, services)
    for feature in FEATURES:
        feature.register(app, services)
    # In front of every handler: a flood of commands or presses is answered once (bot.flood).
    flood.register(app, services)
    # Last: a command no feature claims (a typo) and a button no feature claims (old, or
    # forged) still get an answer.
    help_feature.register_last(app)
    app.add_handler(CallbackQueryHandler(_unknown_button))
    app.add_error_handler(_on_error)
    return app


def _transport(kind: type[HTTPXRequest], connections: int, seconds: float) -> HTTPXRequest:
    """HTTP to the Bot API, waiting `seconds` at each stage of a call (BOT_API_TIMEOUT)."""
    return kind(
        connection_pool_size=connections,
        connect_timeout=seconds,
        read_timeout=seconds,
        write_timeout=seconds,
        pool_timeout=seconds,
    )


def services_of(app: MendApp) -> Services:
    services: Services = app.bot_data[SERVICES_KEY]
    return services


async def _post_init(app: MendApp) -> None:
    """Before polling starts: rebuild timers; the rest (command menus, recurring timers,
    warm-ups) runs in the background, as nothing at start-up may wait for Telegram.

    The scheduler starts after polling has, however long deleteWebhook takes, so the
    start-up job may run late; it must never be dropped as missed."""
    services = services_of(app)
    owed = services.outbox.recover()
    scheduled, late, dropped = services.timers.rebuild()
    log.info("%d couples are owed messages from before the restart", owed)
    log.info(
        "timers rebuilt: %d scheduled (%d late), %d dropped as stale", scheduled, late, dropped
    )
    services.timers.keep_trying(
        "command menus",
        lambda: help_feature.publish_menus(app, services),
        help_feature.MENU_RETRY_PAUSES,
    )
    assert app.job_queue is not None
    app.job_queue.run_once(
        _run_startup_tasks,
        when=0,
        name=STARTUP_JOB,
        job_kwargs={"id": STARTUP_JOB, "replace_existing": True, "misfire_grace_time": None},
    )


async def _post_shutdown(app: MendApp) -> None:
    """The updates handled since the last poll are remembered too; the written marks and the
    store are closed."""
    ledger = getattr(app.bot, "ledger", None)
    if isinstance(ledger, UpdateLedger):
        ledger.save()
    services = services_of(app)
    services.outbox.marks.close()
    services.store.close()


async def _run_startup_tasks(context: MendContext) -> None:
    """Work that shouldn't delay polling: the couple files looked at when start-up took the
    index as it was (bot.storage.store), what is owed sent, the features' warm-ups, then
    recurring timers put back (with many couples, the longest)."""
    await context.mend.store.check_files()
    for chat_id in context.mend.outbox.owing():
        await context.mend.outbox.deliver(context, chat_id)
    for task in context.mend.startup_tasks:
        await task()
    checked = await context.mend.timers.reconcile_all()
    log.info("recurring timers checked for %d couples", checked)


async def _unknown_button(update: Update, context: MendContext) -> None:
    """A button press no handler took (old, or forged): tell the person it's out of date."""
    await answer_stale(update, context)


async def _on_error(update: object, context: MendContext) -> None:
    """Log what failed without logging what people wrote; never leave a button spinning."""
    kind = "none"
    if isinstance(update, Update):
        kind = next((t for t in Update.ALL_TYPES if getattr(update, t, None)), "unknown")
    log.error("error while handling an update (%s)", kind, exc_info=context.error)
    if isinstance(update, Update) and update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()


async def start(app: MendApp, *, poll_timeout: int = 10) -> None:
    """Start polling inside an already running event loop (sandbox mode and tests), in
    run_polling's order: the scheduler starts only once polling has (deleteWebhook answered)."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0,
        timeout=poll_timeout,
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False,
        bootstrap_retries=-1,
    )
    await app.start()


async def stop(app: MendApp) -> None:
    """Stop what `start` started, and close as `run` does when it is stopped."""
    assert app.updater is not None
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    await _post_shutdown(app)


def run(settings_: Settings) -> None:
    """Run against Telegram (or the Bot API server in BOT_API_BASE_URL) until stopped."""
    app = build_application(settings_)
    # bootstrap_retries=-1: getMe and deleteWebhook are retried until Telegram answers,
    # instead of stopping the bot at its first timeout or 5xx.
    app.run_polling(
        allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False, bootstrap_retries=-1
    )
