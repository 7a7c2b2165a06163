"""Documents and photos: multipart upload, resending by file_id, getFile and download."""

from __future__ import annotations

import pytest
import telegram
from telegram.error import BadRequest

from bot.sandbox import Document
from tests.sandbox.conftest import Couple, png

EXPORT = b'{"couple": "Alex & Sam", "journal": []}\n'


async def test_documents_upload_and_download(bot: telegram.Bot, couple: Couple) -> None:
    private = await couple.alex.start_private()
    sent = await bot.send_document(
        couple.alex.id,
        EXPORT,
        filename="mend-export.json",
        caption="Your <b>data</b>",
        parse_mode="HTML",
    )
    assert sent.document is not None
    assert sent.document.file_name == "mend-export.json"
    assert sent.document.file_size == len(EXPORT)
    assert sent.caption == "Your data"
    view = private.bot_messages()[-1]
    assert view.document == Document("mend-export.json", "application/json", EXPORT)
    assert view.caption == "Your data" and view.text == ""
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None and file.file_path.endswith(".json")
    assert bytes(await file.download_as_bytearray()) == EXPORT
    again = await bot.send_document(couple.alex.id, sent.document.file_id)  # resend by file_id
    assert again.document is not None and again.document.file_id == sent.document.file_id


async def test_photos_must_be_images(bot: telegram.Bot, couple: Couple) -> None:
    image = png(4, 3)
    sent = await bot.send_photo(couple.group.id, image, caption="Our visit")
    assert sent.photo[-1].width == 4 and sent.photo[-1].height == 3
    assert couple.group.bot_messages()[-1].photo == image
    file = await bot.get_file(sent.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == image
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(couple.group.id, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(couple.group.id, "no-such-file-id")
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("no-such-file-id")


async def test_captions_can_be_edited(bot: telegram.Bot, couple: Couple) -> None:
    sent = await bot.send_photo(couple.group.id, png(), caption="Before")
    edited = await bot.edit_message_caption(couple.group.id, sent.message_id, caption="After")
    assert isinstance(edited, telegram.Message) and edited.caption == "After"
    view = couple.group.bot_messages()[-1]
    assert (view.caption, view.edits, view.edited) == ("After", ["Before"], True)
    with pytest.raises(BadRequest, match=r"(?i)there is no text in the message to edit"):
        await bot.edit_message_text("x", couple.group.id, sent.message_id)


async def test_captions_have_a_limit(bot: telegram.Bot, couple: Couple) -> None:
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(couple.group.id, EXPORT, filename="a.json", caption="x" * 1025)
