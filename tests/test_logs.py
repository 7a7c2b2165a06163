"""The token never reaches a log line, whoever logs it and however."""

from __future__ import annotations

import io
import logging

from bot.logs import REDACTED, RedactSecrets

TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345"


def test_messages_arguments_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN]))
    logger = logging.getLogger("httpx.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
        logger.warning(f"inline {TOKEN}")
        try:
            raise RuntimeError(f"failed calling https://api.telegram.org/bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(REDACTED) == 3
