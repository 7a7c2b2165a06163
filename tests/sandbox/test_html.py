"""Telegram's HTML parse mode: entities, UTF-16 offsets, and Telegram's error wording."""

from __future__ import annotations

import pytest

from bot.sandbox.html import HtmlError, detect_entities, parse_html, trim, utf16_len


def test_formatting_tags_become_entities() -> None:
    text, entities = parse_html(
        "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <tg-spoiler>x</tg-spoiler>"
    )
    assert text == "bold it u s x"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 4),
        ("italic", 5, 2),
        ("underline", 8, 1),
        ("strikethrough", 10, 1),
        ("spoiler", 12, 1),
    ]


def test_aliases_and_span_spoiler() -> None:
    text, entities = parse_html('<strong>a</strong><em>b</em><ins>c</ins><del>d</del>'
                                '<span class="tg-spoiler">e</span>')  # fmt: skip
    assert text == "abcde"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
    ]


def test_offsets_count_utf16_code_units() -> None:
    # The emoji is one character in Python but two UTF-16 code units for Telegram.
    text, entities = parse_html("💞 <b>together</b>")
    assert text == "💞 together"
    assert entities == [{"type": "bold", "offset": 3, "length": 8}]
    assert utf16_len("💞") == 2


def test_links_pre_code_and_blockquotes() -> None:
    source = (
        '<a href="https://example.org/x?a=1&amp;b=2">site</a> '
        '<pre><code class="language-python">x = 1</code></pre> <code>c</code> '
        "<blockquote expandable>long</blockquote> <blockquote>q</blockquote>"
    )
    text, entities = parse_html(source)
    assert text == "site x = 1 c long q"
    assert entities[0] == {
        "type": "text_link",
        "offset": 0,
        "length": 4,
        "url": "https://example.org/x?a=1&b=2",
    }
    assert entities[1] == {"type": "pre", "offset": 5, "length": 5, "language": "python"}
    assert entities[2] == {"type": "code", "offset": 11, "length": 1}
    assert entities[3]["type"] == "expandable_blockquote"
    assert entities[4]["type"] == "blockquote"


def test_custom_emoji_and_user_mentions() -> None:
    users = {42: {"id": 42, "is_bot": False, "first_name": "Sam"}}
    text, entities = parse_html(
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> <a href="tg://user?id=42">Sam</a>',
        users.get,
    )
    assert text == "👍 Sam"
    assert entities[0]["custom_emoji_id"] == "5368324170671202286"
    assert entities[1] == {"type": "text_mention", "offset": 3, "length": 3, "user": users[42]}


def test_character_references() -> None:
    text, entities = parse_html("&lt;3 &gt; &amp; &quot;hi&quot; &#8364; &#x1F49E; a & b")
    assert text == '<3 > & "hi" € 💞 a & b'
    assert entities == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Hello <foo>x</foo>", 'Unsupported start tag "foo" at byte offset 6'),
        ("Grüße <br>", 'Unsupported start tag "br" at byte offset 8'),  # ü, ß: 2 bytes each
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("ends with <", "Unclosed start tag at byte offset 10"),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("caf&eacute;", 'Unsupported HTML entity "&eacute;" at byte offset 3'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;"'),
    ],
)
def test_invalid_html_is_rejected_with_telegrams_words(source: str, message: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(source)
    assert message in str(caught.value)


def test_empty_tags_make_no_entity_and_invalid_links_are_dropped() -> None:
    text, entities = parse_html('<b></b>x <a href="javascript:alert(1)">y</a>')
    assert text == "x y"
    assert entities == []


def test_trim_strips_whitespace_and_shifts_entities() -> None:
    text, entities = parse_html("\n  <b>hi</b> there \n")
    text, entities = trim(text, entities)
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_detected_entities() -> None:
    found = detect_entities("/pause@mend_sandbox_bot 45 #calm @sam_w https://t.me/x.")
    assert [(e["type"], e["offset"], e["length"]) for e in found] == [
        ("bot_command", 0, 23),
        ("hashtag", 27, 5),
        ("mention", 33, 6),
        ("url", 40, 14),
    ]
    # Commands inside code stay code.
    explicit = [{"type": "code", "offset": 0, "length": 6}]
    assert detect_entities("/pause", explicit) == explicit
