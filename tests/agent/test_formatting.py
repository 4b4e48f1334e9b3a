"""Channel formatting: X weighted length, splitting and shortening at sentence ends."""
from __future__ import annotations

from agent.formatting import format_reply, weighted_length
from guardrails.codes import CHANNEL_LIMITS, Channel

LONG = " ".join(f"Sentence number {i} explains one more detail of the returns policy." for i in range(120))
LINK = "https://help.brightwave.example/returns/returns-policy-with-a-very-long-path"


def test_x_weighting_counts_urls_emoji_and_cjk():
    assert weighted_length("abc") == 3
    assert weighted_length(LINK) == 23
    assert weighted_length("😀") == 2 and weighted_length("👍🏽") == 2 and weighted_length("👨‍👩‍👧") == 2
    assert weighted_length("日本") == 4
    assert weighted_length("🇺🇸🇫🇷") == 4


def test_x_public_reply_is_one_post_within_280_ending_on_a_sentence():
    out = format_reply(LONG, Channel.X_PUBLIC, public=True, link=LINK)
    assert len(out.parts) == 1 and weighted_length(out.text) <= 280
    assert LINK in out.text  # room for a sentence and the link
    assert out.text.split(" More:")[0].endswith(".")


def test_cjk_x_reply_is_shortened_by_weight():
    out = format_reply("日本語の文章です。" * 40, Channel.X_PUBLIC, public=True)
    assert weighted_length(out.text) <= 280


def test_long_replies_split_within_each_channel_limit():
    for channel in (Channel.INSTAGRAM, Channel.MESSENGER, Channel.WHATSAPP, Channel.TELEGRAM, Channel.X_DM):
        out = format_reply(LONG * 2, channel, link=LINK)
        assert all(len(p) <= CHANNEL_LIMITS[channel] for p in out.parts)
        assert " ".join(out.parts).replace("\n\n", " ").split() == out.text.replace("\n\n", " ").split()
        assert out.parts[-1].endswith(LINK)


def test_a_single_giant_word_is_still_cut_to_the_limit():
    out = format_reply("x" * 5000, Channel.INSTAGRAM)
    assert out.parts and all(len(p) <= 1000 for p in out.parts)
