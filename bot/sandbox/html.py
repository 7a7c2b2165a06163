"""Telegram's HTML parse mode: HTML in, (plain text, entities) out, Telegram's errors on misuse.

The parser follows the one in Telegram's own server code (tdlib ``parse_html``): the same
supported tags, the same error wording with byte offsets, the same handling of ``<pre>`` with
an inner ``<code class="language-x">``. One difference on purpose: an unknown named entity
such as ``&nbsp;`` is rejected (Telegram would show it literally, which is a template bug).

Entity offsets and lengths are in UTF-16 code units, as the Bot API counts them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

Entity = dict[str, Any]
UserLookup = Callable[[int], dict[str, Any] | None]

_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n\v\f"
_SPECIAL = re.compile(r"[<&]")
_DEC_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_TRIM = " \t\r\n"
_URL_SCHEMES = ("http://", "https://", "tg://", "ton://")

# Entities Telegram finds by itself in a message's text.
_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{4,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("url", re.compile(r"(?<![\w@/])(?:https?://|t\.me/)[^\s<>\"]+")),
)
# Auto-detected entities never overlap these explicit ones.
_OPAQUE = frozenset(
    {"code", "pre", "text_link", "text_mention", "custom_emoji", "url", "bot_command"}
)


class HtmlError(ValueError):
    """Telegram would refuse this HTML; the message is Telegram's wording."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int
    piece: int  # index into the output pieces where the tag's text starts


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(source: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at ``source[pos] == '&'``: (character, end) or (None, pos)."""
    end = pos + 1
    n = len(source)
    if end < n and source[end] == "#":
        end += 1
        code = 0
        hexadecimal = end < n and source[end] == "x"
        if hexadecimal:
            end += 1
        digits, base = (_HEX_DIGITS, 16) if hexadecimal else (_DEC_DIGITS, 10)
        while end < n and source[end] in digits:
            code = code * base + int(source[end], base)
            end += 1
            if code >= 0x10FFFF:
                return None, pos
        # Surrogates can't stand alone in text; Telegram's limit of 10 characters applies too.
        if code == 0 or 0xD800 <= code <= 0xDFFF or end - pos >= 10:
            return None, pos
        char = chr(code)
    else:
        while end < n and source[end].isascii() and source[end].isalpha():
            end += 1
        name = source[pos + 1 : end]
        if name not in _NAMED:
            if name and end < n and source[end] == ";":
                raise HtmlError(
                    f'Unsupported HTML entity "&{name};" at byte offset '
                    f"{_byte_offset(source, pos)}; only &lt; &gt; &amp; &quot; and numeric "
                    "ones are supported"
                )
            return None, pos
        char = _NAMED[name]
    if end < n and source[end] == ";":
        end += 1
    return char, end


def _link_entity(url: str, lookup: UserLookup | None) -> Entity | None:
    """``text_mention`` for ``tg://user?id=``, ``text_link`` for a valid URL, else None."""
    if url.lower().startswith("tg://user?"):
        ids = parse_qs(url.split("?", 1)[1]).get("id", [])
        if ids and ids[0].isdigit() and lookup is not None:
            user = lookup(int(ids[0]))
            if user is not None:
                return {"type": "text_mention", "user": user}
    lowered = url.lower()
    if not lowered.startswith(_URL_SCHEMES):
        # Telegram completes a bare domain ("example.com/x") to http://; anything else is
        # not a link and the tag is silently dropped, as Telegram does.
        if "://" in url or "." not in url.split("/", 1)[0] or " " in url:
            return None
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and not parts.hostname:
        return None
    return {"type": "text_link", "url": url}


class _Parser:
    """One run of the parser over one HTML string."""

    def __init__(self, source: str, lookup: UserLookup | None) -> None:
        self.source = source
        self.lookup = lookup
        self.pieces: list[str] = []
        self.utf16 = 0
        self.entities: list[Entity] = []
        self.stack: list[_Open] = []

    def error(self, message: str, index: int, suffix: str = "") -> HtmlError:
        """An error whose message ends with the byte offset of ``index`` (then ``suffix``)."""
        return HtmlError(f"{message} at byte offset {_byte_offset(self.source, index)}{suffix}")

    def emit(self, text: str) -> None:
        self.pieces.append(text)
        self.utf16 += utf16_len(text)

    def run(self) -> tuple[str, list[Entity]]:
        source, n, i = self.source, len(self.source), 0
        while i < n:
            char = source[i]
            if char == "&":
                decoded, end = _decode_entity(source, i)
                if decoded is not None:
                    self.emit(decoded)
                    i = end
                    continue
            if char != "<":
                # Copy plain text up to the next tag or character reference in one piece.
                special = _SPECIAL.search(source, i + 1)
                end = n if special is None else special.start()
                self.emit(source[i:end])
                i = end
                continue
            closing = i + 1 < n and source[i + 1] == "/"
            i = self.end_tag(i) if closing else self.start_tag(i)
        if self.stack:
            raise HtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.pieces), self.entities

    def start_tag(self, begin: int) -> int:
        source, n = self.source, len(self.source)
        i = begin + 1
        while i < n and source[i] not in _SPACE and source[i] != ">":
            i += 1
        if i >= n:
            raise self.error("Unclosed start tag", begin)
        tag = source[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise self.error(f'Unsupported start tag "{tag}"', begin)
        argument = ""
        while source[i] != ">":
            while i < n and source[i] in _SPACE:
                i += 1
            if i >= n:
                raise self.error("Unclosed start tag", begin)
            if source[i] == ">":
                break
            name_start = i
            while i < n and source[i] not in _SPACE and source[i] not in "=>":
                i += 1
            attribute = source[name_start:i]
            while i < n and source[i] in _SPACE:
                i += 1
            if i >= n:
                raise self.error("Unclosed start tag", begin)
            if source[i] != "=":
                if tag == "blockquote" and attribute == "expandable":
                    argument = "1"
                    continue
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            i += 1
            while i < n and source[i] in _SPACE:
                i += 1
            if i >= n:
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            value, i = self.attribute_value(i)
            if i >= n:
                raise self.error("Unclosed start tag", begin)
            argument = self.tag_argument(tag, attribute, value, argument)
        if tag == "span" and argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_Open(tag, argument, self.utf16, len(self.pieces)))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        source, n = self.source, len(self.source)
        if source[i] not in "'\"":
            # An unquoted name token: letters, digits, periods and hyphens, case-insensitive.
            start = i
            while i < n and ((source[i].isascii() and source[i].isalnum()) or source[i] in ".-"):
                i += 1
            if i < n and source[i] not in _SPACE and source[i] != ">":
                raise self.error("Unexpected end of name token", start)
            return source[start:i].lower(), i
        quote = source[i]
        i += 1
        chars: list[str] = []
        while i < n and source[i] != quote:
            if source[i] == "&":
                decoded, end = _decode_entity(source, i)
                if decoded is not None:
                    chars.append(decoded)
                    i = end
                    continue
            chars.append(source[i])
            i += 1
        if i < n:
            i += 1
        return "".join(chars), i

    @staticmethod
    def tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
        if tag == "a" and attribute == "href":
            return value
        if tag == "code" and attribute == "class" and value.startswith("language-"):
            return value[len("language-") :]
        if tag == "span" and attribute == "class" and value.startswith("tg-"):
            return value[len("tg-") :]
        if tag == "tg-emoji" and attribute == "emoji-id":
            return value
        if tag == "blockquote" and attribute == "expandable":
            return "1"
        return current

    def end_tag(self, begin: int) -> int:
        source, n = self.source, len(self.source)
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        i = begin + 2
        while i < n and source[i] not in _SPACE and source[i] != ">":
            i += 1
        name = source[begin + 2 : i].lower()
        while i < n and source[i] in _SPACE:
            i += 1
        if i >= n or source[i] != ">":
            raise self.error("Unclosed end tag", begin)
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise self.error(
                "Unmatched end tag", begin, f', expected "</{opened.tag}>", found "</{name}>"'
            )
        if self.utf16 > opened.offset:
            self.close(opened, self.utf16 - opened.offset)
        return i + 1

    def close(self, opened: _Open, length: int) -> None:
        offset, tag, argument = opened.offset, opened.tag, opened.argument
        base: Entity = {"offset": offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and last["offset"] == offset and last["length"] == length
        if tag in _SIMPLE or tag == "span":
            self.entities.append({"type": _SIMPLE.get(tag, "spoiler"), **base})
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0 or int(argument) >= 2**63:
                raise HtmlError("Invalid custom emoji identifier specified")
            self.entities.append({"type": "custom_emoji", **base, "custom_emoji_id": argument})
        elif tag == "a":
            url = argument or "".join(self.pieces[opened.piece :])
            link = _link_entity(url, self.lookup)
            if link is not None:
                self.entities.append({**link, **base})
        elif tag == "pre":
            if same_span and last is not None and last["type"] == "code" and "language" in last:
                last["type"] = "pre"
            else:
                self.entities.append({"type": "pre", **base})
        elif tag == "code":
            if same_span and last is not None and last["type"] == "pre" and argument:
                last["language"] = argument
            elif argument:
                self.entities.append({"type": "code", **base, "language": argument})
            else:
                self.entities.append({"type": "code", **base})
        else:  # blockquote
            kind = "expandable_blockquote" if argument else "blockquote"
            self.entities.append({"type": kind, **base})


def parse_html(source: str, lookup: UserLookup | None = None) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities; raise :class:`HtmlError` if invalid.

    ``lookup`` resolves ``tg://user?id=N`` links to a user object (a ``text_mention``).
    """
    return _Parser(source, lookup).run()


def _index_at_utf16(text: str, units: int) -> int:
    count = 0
    for index, char in enumerate(text):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading and trailing whitespace as Telegram does, keeping entities aligned."""
    stripped = text.strip(_TRIM)
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip(_TRIM))])
    limit = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def detect_entities(text: str, explicit: list[Entity] | None = None) -> list[Entity]:
    """Add the entities Telegram finds by itself (commands, mentions, hashtags, URLs).

    Detected entities are merged into ``explicit`` unless they overlap a code, pre or link
    entity there (or each other); the result is sorted by offset.
    """
    entities = list(explicit or [])
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _OPAQUE]
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            found = match.group(0)
            if kind == "url":
                found = found.rstrip(".,;:!?)'")
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(found)
            if any(start < stop and begin < end for begin, stop in taken):
                continue
            entities.append({"type": kind, "offset": start, "length": end - start})
            taken.append((start, end))
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


def entity_text(text: str, entity: Entity) -> str:
    """The part of ``text`` an entity covers."""
    start = _index_at_utf16(text, entity["offset"])
    end = _index_at_utf16(text, entity["offset"] + entity["length"])
    return text[start:end]
