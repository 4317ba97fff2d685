"""Markdown to Slack mrkdwn, escaping, clipping and splitting: pure functions, no mocks."""

from __future__ import annotations

import random
import re

import pytest

from bot.slack.mrkdwn import (
    clip_escaped,
    clip_label,
    clip_mrkdwn,
    escape,
    link,
    markdown_to_mrkdwn,
    mention,
    misleads,
    split_text,
    strip_controls,
)

PINGS = ["<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam^S123|team>"]
# What may follow '<' in our output: a link we built, or a user mention we built.
GENERATED_ANGLE = re.compile(
    r"<(?:https?://[^\s<>|]+|mailto:[^\s<>|]+)(?:\|[^<>]*)?>|<@[UWB][A-Z0-9]+>"
)
RAW_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def assert_safe(mrkdwn: str) -> None:
    """No ping, no link we did not build, no bare '&', no '>' but our quote markers."""
    leftover = GENERATED_ANGLE.sub("", mrkdwn)
    leftover = re.sub(r"(?m)^>", "", leftover)  # a quote marker we generated
    assert "<" not in leftover and ">" not in leftover.replace("&gt;", ""), mrkdwn
    assert not RAW_AMPERSAND.search(mrkdwn), mrkdwn


def squash(text: str) -> str:
    return "".join(text.split())


# -- escape -----------------------------------------------------------------------------------


def test_escape_replaces_the_three_control_characters() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("&amp;") == "&amp;amp;"  # shown exactly as the agent wrote it
    assert escape("plain *text* _ok_") == "plain *text* _ok_"


@pytest.mark.parametrize("ping", [*PINGS, "<https://evil.example|click>"])
def test_escape_defuses_pings_and_links(ping: str) -> None:
    out = escape(f"hey {ping} there")
    assert ping not in out
    assert "<" not in out and ">" not in out


def test_mention_only_for_user_ids() -> None:
    assert mention("U123ABC") == "<@U123ABC>"
    assert mention("W0ABC") == "<@W0ABC>"
    assert mention("!channel") == "!channel"
    assert mention("U1> <!here") == "U1&gt; &lt;!here"


def test_link_builds_safe_links_only() -> None:
    assert link("https://x.com/a?b=1&c=2", "the <list>") == (
        "<https://x.com/a?b=1&amp;c=2|the &lt;list&gt;>"
    )
    assert link("https://x.com/a b|c>d", "t") == "<https://x.com/a%20b%7Cc%3Ed|t>"
    assert link("https://x.com", "") == "<https://x.com>"
    assert link("javascript:alert(1)", "click") == "click"
    assert link("ftp://x.com/f", "") == "ftp://x.com/f"


# -- invisible and misleading characters -------------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "".join(chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])


def test_strip_controls_keeps_text_tabs_newlines_and_direction_marks() -> None:
    assert strip_controls(f"a{CONTROLS}b{BIDI}c\td\ne") == "abc\td\ne"
    assert (
        strip_controls("\u05e9\u05dc\u05d5\u05dd\u200f!\u200e")
        == "\u05e9\u05dc\u05d5\u05dd\u200f!\u200e"
    )
    assert strip_controls("lone \ud800 surrogate") == "lone  surrogate"
    assert (
        strip_controls("\U0001f680 \u200b zero-width space stays")
        == "\U0001f680 \u200b zero-width space stays"
    )


def test_escaping_removes_controls_and_bidi_everywhere() -> None:
    evil = "evil.com\u202emoc.knab\x00 <!here>\x1b[31m"
    assert escape(evil) == "evil.commoc.knab &lt;!here&gt;[31m"
    assert clip_escaped(evil, 12) == "evil.commoc…"
    assert clip_label("Go\u2066 on\x07", 75) == "Go on"
    out = markdown_to_mrkdwn(
        f"# Title{BIDI}\n- item\x00\n`co\u202ede`\n[te\u202ext](https://x.com/\u202e)"
    )
    assert out == "*Title*\n• item\n`code`\n<https://x.com/|text>"


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("[https://bank.com](https://evil.example)", "https://bank.com (<https://evil.example>)"),
        ("[bank.com](https://evil.example/login)", "bank.com (<https://evil.example/login>)"),
        (
            "[Log in at www.bank.com now](https://evil.example)",
            "Log in at www.bank.com now (<https://evil.example>)",
        ),
        ("[bank\u200b.com](https://evil.example)", "bank\u200b.com (<https://evil.example>)"),
        ("[bank\u3002com](https://evil.example)", "bank\u3002com (<https://evil.example>)"),
        ("[BANK.COM](https://bank.com.evil.example)", "BANK.COM (<https://bank.com.evil.example>)"),
        ("[me@bank.com](mailto:eve@evil.example)", "me@bank.com (<mailto:eve@evil.example>)"),
        ("[bank.com](https://user@evil.example)", "bank.com (<https://user@evil.example>)"),
        # The text names the target's own host, or none: an ordinary link.
        ("[bank.com](https://bank.com/a)", "<https://bank.com/a|bank.com>"),
        ("[www.Bank.com](https://bank.com)", "<https://bank.com|www.Bank.com>"),
        ("[example.com](https://docs.example.com)", "<https://docs.example.com|example.com>"),
        ("[the list](https://evil.example)", "<https://evil.example|the list>"),
        ("[v1.2 notes](https://x.com)", "<https://x.com|v1.2 notes>"),
        # In a table (plain text) the target is always shown.
        (
            "| a |\n|---|\n| [bank.com](https://evil.example) |",
            "```\na\n" + "-" * 31 + "\nbank.com (https://evil.example)\n```",
        ),
    ],
)
def test_a_link_whose_text_names_another_host_shows_its_target(md: str, expected: str) -> None:
    assert markdown_to_mrkdwn(md) == expected


def test_misleads() -> None:
    assert misleads("bank.com", "https://evil.example")
    assert misleads("https://bank.com/x", "not a url")
    assert not misleads("click here", "https://evil.example")
    assert not misleads("Bank.com", "https://www.bank.com/")
    assert not misleads("bücher.de", "https://xn--bcher-kva.de")
    assert link("https://evil.example", "paypal.com") == "paypal.com (<https://evil.example>)"


# -- markdown_to_mrkdwn -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("md", "expected"),
    [
        ("# Top leads", "*Top leads*"),
        ("### Top **leads** ###", "*Top leads*"),
        ("**bold** and __bold__", "*bold* and *bold*"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("***both***", "*_both_*"),
        ("~~gone~~", "~gone~"),
        ("snake_case_name stays", "snake_case_name stays"),
        ("5 * 3 * 2", "5 * 3 * 2"),
        ("[Acme](https://acme.com)", "<https://acme.com|Acme>"),
        ("[Mail](mailto:a@b.co)", "<mailto:a@b.co|Mail>"),
        ("[x](https://x.com/a|b>c)", "<https://x.com/a%7Cb%3Ec|x>"),
        ("[x](<https://x.com/a b>)", "<https://x.com/a%20b|x>"),
        ('[x](https://x.com "title")', "<https://x.com|x>"),
        ("[https://x.com](https://x.com)", "<https://x.com>"),
        ("[bad](javascript:alert(1))", "bad"),
        ("[rel](/settings)", "rel"),
        ("[<!channel> & co](https://x.com)", "<https://x.com|&lt;!channel&gt; &amp; co>"),
        ("![logo](https://x.com/l.png)", "<https://x.com/l.png|logo>"),
        ("<https://x.com/a?b=1&c=2>", "<https://x.com/a?b=1&amp;c=2>"),
        ("see https://x.com/a_b_c_?q=1&r=2 now", "see https://x.com/a_b_c_?q=1&amp;r=2 now"),
        ("`**raw** <b>`", "`**raw** &lt;b&gt;`"),
        ("- one\n* two\n+ three", "• one\n• two\n• three"),
        ("- top\n  - nested", "• top\n    ◦ nested"),
        ("- [ ] todo\n- [x] done", "• ☐ todo\n• ☑ done"),
        ("1. first\n2) second", "1. first\n2) second"),
        ("> quoted <!here>", "> quoted &lt;!here&gt;"),
        ("---", "──────────"),
        ("a\\*b\\*", "a*b*"),
        ("line<br>next", "line\nnext"),
        ("R&D <b>bold</b>", "R&amp;D &lt;b&gt;bold&lt;/b&gt;"),
    ],
)
def test_markdown_to_mrkdwn(md: str, expected: str) -> None:
    assert markdown_to_mrkdwn(md) == expected


def test_fenced_code_is_escaped_but_not_transformed() -> None:
    md = "Before\n```python\n**x** = '<!channel>' & [a](https://b.c)\n```\nAfter **b**"
    assert markdown_to_mrkdwn(md) == (
        "Before\n```\n**x** = '&lt;!channel&gt;' &amp; [a](https://b.c)\n```\nAfter *b*"
    )


def test_unclosed_fence_is_closed() -> None:
    assert markdown_to_mrkdwn("```\ncode <x>\n") == "```\ncode &lt;x&gt;\n```"


def test_stray_triple_backticks_cannot_open_a_code_block() -> None:
    out = markdown_to_mrkdwn("say ``` then\n**b**")
    assert "```" not in out
    assert out.endswith("*b*")


def test_pipe_table_becomes_aligned_code_block() -> None:
    md = (
        "Results:\n"
        "| Company | Leads | Site |\n"
        "|---|---:|---|\n"
        "| **Acme & Co** | 12 | [site](https://acme.com) |\n"
        "| Beta | 3 |\n"
        "\n"
        "Done."
    )
    assert markdown_to_mrkdwn(md) == (
        "Results:\n"
        "```\n"
        "Company   | Leads | Site\n"
        "----------+-------+------------------------\n"
        "Acme &amp; Co |    12 | site (https://acme.com)\n"
        "Beta      |     3 |\n"
        "```\n"
        "\n"
        "Done."
    )


def test_pipe_without_delimiter_row_is_text() -> None:
    assert markdown_to_mrkdwn("a | b\nc | d") == "a | b\nc | d"


@pytest.mark.parametrize(
    "md",
    [
        "",
        "**",
        "**unclosed bold",
        "[unclosed link](https://x.com",
        "[a]",
        "](",
        "```",
        "````\n```\n",
        "|",
        "|\n|-",
        "| a |\n|---|\n|",
        "# ",
        "#",
        "> > > ",
        "- ",
        "\\",
        "`",
        "``` <!channel>",
        "\r\n\r\n",
        "\x00\x1b[31m",
        "<" * 1000,
        "*" * 5000,
        "_*~`[]()<>&|#>-" * 500,
    ],
)
def test_malformed_markdown_never_raises_and_stays_safe(md: str) -> None:
    out = markdown_to_mrkdwn(md)
    assert isinstance(out, str)
    assert_safe(out)


def test_random_markdown_never_raises_and_never_pings() -> None:
    rng = random.Random(20240611)
    pieces = [
        "**", "*", "__", "_", "~~", "`", "```", "\n", "\n\n", "# ", "- ", "1. ", "> ", "|",
        "|---|", "[", "]", "(", ")", "](https://x.com/", "<", ">", "&", "<!channel>",
        "<!here>", "<@U123>", "<https://evil|click>", "https://ok.com/a_b", "word", " ",
        "mailto:a@b.c", "\\", "!", "javascript:x",
    ]  # fmt: skip
    for _ in range(400):
        md = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
        out = markdown_to_mrkdwn(md)
        assert_safe(out)
        for ping in PINGS:
            assert ping not in out


def test_long_adversarial_input_is_fast_enough() -> None:
    for md in ["*a " * 30_000, "[" * 100_000, "** a " * 20_000, "~~x " * 25_000]:
        assert_safe(markdown_to_mrkdwn(md))


# -- clipping --------------------------------------------------------------------------------


def test_clip_escaped_never_splits_an_entity() -> None:
    assert clip_escaped("a&b", 10) == "a&amp;b"
    assert clip_escaped("&&&&", 9) == "&amp;…"
    assert clip_escaped("abcdef", 4) == "abc…"
    assert len(clip_escaped("<" * 100, 75)) <= 75


def test_clip_label_is_one_line() -> None:
    assert clip_label("Find\n  more\tleads", 75) == "Find more leads"
    assert clip_label("   ", 75) == "…"


def test_clip_mrkdwn_keeps_links_whole_and_closes_fences() -> None:
    text = "see <https://example.com/very/long|the list> now"
    for limit in range(5, len(text)):
        clipped = clip_mrkdwn(text, limit)
        assert len(clipped) <= limit
        assert "<" not in clipped or "<https://example.com/very/long|the list>" in clipped
    fenced = clip_mrkdwn("```\n" + "x" * 100 + "\n```", 50)
    assert len(fenced) <= 50
    assert fenced.count("```") == 2


# -- split_text --------------------------------------------------------------------------------


def _unfenced(chunks: list[str]) -> str:
    return squash("".join(chunks)).replace("```", "")


def test_short_text_is_one_chunk_and_blank_is_none() -> None:
    assert split_text("hello", 10) == ["hello"]
    assert split_text("  \n ", 10) == []
    with pytest.raises(ValueError):
        split_text("x", 0)


def test_prefers_paragraphs_then_lines_then_sentences_then_words() -> None:
    assert split_text("aaaa bbbb\n\ncccc dddd", 12) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("aaaa bbbb\ncccc dddd", 12) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("One two. Three four", 12) == ["One two.", "Three four"]
    assert split_text("alpha beta gamma", 11) == ["alpha beta", "gamma"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_never_splits_links_or_entities() -> None:
    text = ("word <https://example.com/a|some link text> &amp; " * 40).strip()
    for limit in (45, 60, 97, 300):  # a link longer than the limit has to be cut
        for chunk in split_text(text, limit):
            assert len(chunk) <= limit
            assert chunk.count("<") == chunk.count(">")
            assert not re.search(r"&(?!amp;)", chunk)


def test_split_inside_fence_closes_and_reopens_it() -> None:
    code = "\n".join(f"line {n} <x>" for n in range(100))
    text = f"Intro\n```\n{code}\n```\nOutro"
    chunks = split_text(text, 200)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk) <= 200
        assert chunk.count("```") % 2 == 0, chunk
    assert chunks[1].startswith("```\n") and chunks[1].endswith("\n```")
    assert _unfenced(chunks) == squash(text).replace("```", "")


@pytest.mark.parametrize("limit", [20, 37, 100, 999, 3000])
@pytest.mark.parametrize("seed", range(5))
def test_split_text_property(limit: int, seed: int) -> None:
    rng = random.Random(seed)
    words = ["lead", "founder", "SaaS.", "Austin!", "\n", "\n\n", "<https://x.com|x>", "&amp;"]
    words += ["```", "x" * 50, "y" * 300]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 3000)))
    chunks = split_text(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert all(chunk.strip() for chunk in chunks)
    assert _unfenced(chunks) == squash(text).replace("```", "")


def test_split_very_long_text() -> None:
    text = markdown_to_mrkdwn(("Some **bold** words <!channel> & more. " * 3000).strip())
    chunks = split_text(text, 3000)
    assert len(chunks) > 30
    assert all(len(chunk) <= 3000 for chunk in chunks)
    assert squash("".join(chunks)) == squash(text)
