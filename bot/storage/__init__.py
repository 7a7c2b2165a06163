"""Storage: the only package that imports tinydb."""

from bot.storage.store import Kind, Record, Records, Store, Transaction

__all__ = ["Kind", "Record", "Records", "Store", "Transaction"]
