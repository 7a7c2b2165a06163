"""Photos and documents: upload, resend by file_id, getFile for downloads."""

from __future__ import annotations

import struct
from typing import Any

from bot.sandbox import checks
from bot.sandbox.errors import ApiError
from bot.sandbox.methods.messages import post_from_bot
from bot.sandbox.methods.registry import CallContext, Params, method
from bot.sandbox.records import Document
from bot.sandbox.spec import Upload
from bot.sandbox.world import StoredFile, World

MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile serves files up to 20 MB
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF or WebP image; None if it is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP" and data[12:16] == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    return None


def stored_file(world: World, value: Upload | str, kind: str) -> StoredFile:
    """The file a send call names: a fresh upload, or an earlier file_id."""
    if isinstance(value, str):
        if value.lower().startswith(("http://", "https://")):
            raise ApiError.bad_request(
                "failed to get HTTP URL content: the sandbox can't fetch URLs"
            )
        found = world.files.get(value)
        if found is None:
            raise ApiError.bad_request("wrong file identifier/HTTP URL specified")
        if found.kind != kind:
            raise ApiError.bad_request(f"can't use file of type {found.kind} as {kind}")
        return found
    if kind == "photo":
        size = image_size(value.data)
        if size is None:
            raise ApiError.bad_request("IMAGE_PROCESS_FAILED")
        stored = world.new_file(value.data, value.filename or "photo.jpg", "image/jpeg", kind)
        stored.width, stored.height = size
        return stored
    if not value.data:
        raise ApiError.bad_request("file must be non-empty")
    mime = value.content_type or "application/octet-stream"
    return world.new_file(value.data, value.filename or "document", mime, kind)


def _caption_content(call: CallContext, params: Params) -> dict[str, Any]:
    formatted = checks.caption(params, call.lookup)
    if formatted is None:
        return {}
    return {
        "caption": formatted.text,
        "caption_entities": formatted.entities,
        "html": formatted.source,
    }


@method("sendPhoto")
async def send_photo(call: CallContext, params: Params) -> Any:
    """Post a photo (PNG, JPEG, GIF or WebP upload, or an earlier photo's file_id)."""
    chat = call.world.resolve_chat(params["chat_id"])
    stored = stored_file(call.world, params["photo"], "photo")
    size = {
        "file_id": stored.file_id,
        "file_unique_id": stored.unique_id,
        "file_size": len(stored.data),
        "width": stored.width,
        "height": stored.height,
    }
    message = post_from_bot(
        call,
        chat,
        params,
        photo=stored.data,
        media={"photo": [size]},
        **_caption_content(call, params),
    )
    return call.world.message_api(message)


@method("sendDocument")
async def send_document(call: CallContext, params: Params) -> Any:
    """Post a file (upload or an earlier document's file_id)."""
    chat = call.world.resolve_chat(params["chat_id"])
    stored = stored_file(call.world, params["document"], "document")
    document = {
        "file_id": stored.file_id,
        "file_unique_id": stored.unique_id,
        "file_name": stored.filename,
        "mime_type": stored.mime_type,
        "file_size": len(stored.data),
    }
    message = post_from_bot(
        call,
        chat,
        params,
        document=Document(stored.filename, stored.mime_type, stored.data),
        media={"document": document},
        **_caption_content(call, params),
    )
    return call.world.message_api(message)


@method("getFile")
async def get_file(call: CallContext, params: Params) -> Any:
    """A ``File`` with the path to download it from ``/file/bot<token>/<file_path>``."""
    stored = call.world.files.get(str(params["file_id"]))
    if stored is None:
        raise ApiError.bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD:
        raise ApiError.bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.unique_id,
        "file_size": len(stored.data),
        "file_path": stored.path,
    }
