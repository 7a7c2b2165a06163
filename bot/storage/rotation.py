"""A key rotation: every couple's private text sealed again with a new data key.

Run while the bot is stopped (`python -m bot rotate-key`). The new key is kept before anything
is sealed with it; each couple's file is sealed again in one atomic write; the older keys are
forgotten only once every file is done. Stopped half-way, the rotation is run again and goes on
where it was: every value names the key that sealed it, so every file opens throughout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.bot_api import LEDGER_FILE, UpdateLedger
from bot.config import Settings
from bot.storage.keys import begin_rotation, finish_rotation
from bot.storage.lock import holding
from bot.storage.sealing import PRIVATE
from bot.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rotated:
    """What a rotation did."""

    key_id: str  # the key everything is sealed with now
    files: int  # couple files sealed again
    values: int  # private values sealed again
    unopenable: int  # values no key opens (changed on disk, or copied from elsewhere): as they were


def rotate_data_key(settings: Settings) -> Rotated:
    """Seal everything with a new key (with MEND_DATA_KEY: with the key it names), then forget
    the older ones. The features' tables must be declared (import bot.app first). Raises
    DataInUse (bot.storage.lock) while a bot runs over the same data."""
    if not PRIVATE:
        raise RuntimeError("no table declares private fields: import the features first")
    with holding(settings.data_dir):  # never under a running bot: it would seal with the old key
        return _rotate(settings)


def _rotate(settings: Settings) -> Rotated:
    begin_rotation(settings.data_dir, settings.data_key)
    store = Store(
        settings.data_dir, data_key=settings.data_key, older_keys=settings.previous_data_keys
    )
    store.open()
    files = values = unopenable = 0
    for chat_id in sorted(store.chat_ids()):
        sealed, failed = store.reseal(chat_id)
        files += bool(sealed)
        values += sealed
        unopenable += failed
    # Updates fetched and not yet handled when the bot stopped are sealed too (bot.bot_api).
    sealed, failed = UpdateLedger(
        settings.data_dir / LEDGER_FILE, keyring=lambda: store.keyring
    ).reseal()
    values += sealed
    unopenable += failed
    finish_rotation(settings.data_dir, store.keyring, settings.data_key)
    log.info("data key rotated: couple files sealed again: %d", files)
    return Rotated(store.keyring.current, files, values, unopenable)
