"""Mend: a Telegram bot that guides couples through rebuilding trust."""
