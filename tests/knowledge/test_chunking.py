"""Chunking: headings respected, long sections cut at word boundaries, FAQ = one chunk, stable ids."""
from __future__ import annotations

from pathlib import Path

from knowledge.chunking import chunk_document, plain_markdown
from knowledge.loaders import load_kb


def load_one(tmp_path: Path, rel: str, content: str):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    result = load_kb(tmp_path)
    assert result.errors == []
    return result.documents[0]


def words(text: str) -> list[str]:
    return text.split()


ARTICLE = """---
id: returns-policy
title: Returns
---
# Returns

You can return most products.

## Return window

Thirty days from delivery.

### Members

Sixty days for members.

## Refund timing

Refunds take five to ten business days.

```
## not a heading inside a code block
```
"""


def test_markdown_chunks_follow_headings_with_paths(tmp_path: Path) -> None:
    doc = load_one(tmp_path, "returns.md", ARTICLE)
    chunks = chunk_document(doc)
    assert [c.heading for c in chunks] == [
        None, "Return window", "Return window > Members", "Refund timing"]
    assert [c.chunk_id for c in chunks] == [f"returns-policy::{n}" for n in range(4)]
    assert chunks[2].text.startswith("Returns > Return window > Members\n\n")
    assert chunks[2].body == "Sixty days for members."
    assert chunks[0].text == "Returns\n\nYou can return most products."  # H1 = title, not repeated
    assert "## not a heading inside a code block" in chunks[3].text
    assert all(c.doc_id == "returns-policy" and c.content_hash == doc.content_hash for c in chunks)


def test_long_section_is_cut_between_words_within_budget(tmp_path: Path) -> None:
    sentences = [f"Sentence number {i} explains one more detail about refund timing." for i in range(60)]
    paragraphs = ["\n".join(["- " + s for s in sentences[:12]]),
                  " ".join(sentences[12:40]),
                  " ".join(sentences[40:])]
    body = "\n\n".join(paragraphs)
    doc = load_one(tmp_path, "long.md", "# Long\n\n## Details\n\n" + body + "\n")
    chunks = chunk_document(doc, max_chars=400)
    assert len(chunks) > 5
    assert all(c.heading == "Details" for c in chunks)
    # nothing lost, nothing duplicated, no word cut in half
    assert [w for c in chunks for w in words(c.body)] == words(body)
    budget = 400 + 400 // 5 + 2  # a tiny last piece may be merged onto the one before
    assert all(len(c.text) <= budget for c in chunks)
    # sentence-level cuts end at sentence ends
    assert all(c.body.rstrip().endswith(".") for c in chunks)


def test_single_huge_word_and_tiny_tail(tmp_path: Path) -> None:
    text = ("word " * 170).strip() + "\n\n" + "x" * 700 + "\n\nEnd."
    doc = load_one(tmp_path, "notes.txt", text)
    chunks = chunk_document(doc, max_chars=300)
    pieces = [w for c in chunks for w in words(c.body)]
    # only a "word" longer than a whole chunk may be cut; everything else stays whole
    assert "".join(pieces) == "".join(words(text))
    assert [w for w in pieces if "x" not in w] == [w for w in words(text) if "x" not in w]
    assert not any(c.body == "End." for c in chunks), "tiny trailing piece should be merged"


def test_faq_record_is_exactly_one_chunk(tmp_path: Path) -> None:
    answer = " ".join(f"Step {i}: do the next thing carefully." for i in range(200))
    doc = load_one(tmp_path, "faq.jsonl",
                   '{"id": "faq-long", "question": "How do I reset it?", "answer": "%s"}\n' % answer)
    chunks = chunk_document(doc, max_chars=300)
    assert len(chunks) == 1
    (chunk,) = chunks
    assert chunk.chunk_id == "faq-long::0"
    assert chunk.question == "How do I reset it?"
    assert chunk.text.startswith("How do I reset it?") and chunk.text.endswith(answer)


def test_text_and_html_split_on_paragraphs(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i} " + "talks about opening hours " * 12 for i in range(6)]
    doc = load_one(tmp_path, "hours.txt", "\n\n".join(paragraphs))
    chunks = chunk_document(doc, max_chars=700)
    assert len(chunks) >= 2
    for chunk in chunks:  # every chunk is whole paragraphs
        assert all(p == paragraphs[int(p.split()[1])].strip() for p in chunk.body.split("\n\n"))

    (tmp_path / "hours.txt").unlink()
    html = load_one(tmp_path, "page.html",
                    "<title>Help</title><h2>Pairing</h2><p>Hold the button.</p><h2>Charging</h2><p>Use USB-C.</p>")
    assert [c.heading for c in chunk_document(html)] == ["Pairing", "Charging"]


def test_plain_markdown_removes_markup_but_keeps_words() -> None:
    text = "See **bold** and *it* in [Returns](https://h.example/r).\n\n| Plan | Price |\n| --- | --- |\n| Basic | 2 |"
    assert plain_markdown(text) == "See bold and it in Returns.\n\nBasic — Price: 2."


def test_a_table_row_reads_as_one_sentence_with_its_column_names() -> None:
    text = ("Delivery times:\n\n| Service | Germany | France |\n| --- | :---: | --- |\n"
            "| Standard | 3–5 business days, €4.95 | 2–4 business days |\n| Express | **1 day** | |\n")
    lines = plain_markdown(text).split("\n")
    assert "Standard — Germany: 3–5 business days, €4.95; France: 2–4 business days." in lines
    assert "Express — Germany: 1 day." in lines  # an empty cell is left out, not shown as ":"
    assert not any("|" in line for line in lines)


def test_a_table_of_name_lists_reads_one_sentence_per_column() -> None:
    text = "| North | South |\n| --- | --- |\n| Leeds | Brighton |\n| York | Exeter |\n| Hull | |"
    assert plain_markdown(text).split("\n") == ["North: Leeds, York, Hull.", "South: Brighton, Exeter."]


def test_numbered_steps_and_their_lead_in_stay_in_one_chunk(tmp_path: Path) -> None:
    filler = "Some background about cards that is not part of the steps. " * 6
    steps = "\n\n".join(f"{n}. Step number {n} of reporting a lost card, tap the button." for n in range(1, 6))
    doc = load_one(tmp_path, "lost.md", f"# Lost card\n\n{filler}\n\nTo report it:\n\n{steps}\n\n{filler}")
    chunks = chunk_document(doc, max_chars=500)
    assert len(chunks) >= 2
    holding = [c for c in chunks if "Step number" in c.text]
    assert len(holding) == 1, [c.text for c in chunks]
    assert "To report it:" in holding[0].text and "5. Step number 5" in holding[0].text


def test_chunk_ids_stable_across_runs(sample_kb: Path) -> None:
    def run() -> list[tuple[str, str]]:
        return [(c.chunk_id, c.text) for d in load_kb(sample_kb).documents for c in chunk_document(d)]

    first, second = run(), run()
    assert first == second
    ids = [cid for cid, _ in first]
    assert len(ids) == len(set(ids))
