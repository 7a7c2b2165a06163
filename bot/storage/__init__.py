"""Storage: the only package that imports tinydb."""

from bot.storage.store import Record, Records, Store, Transaction

__all__ = ["Record", "Records", "Store", "Transaction"]
