"""Loading KB folders: every format of spec §1, defaults, and broken files that must not stop a load."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.loaders import KbFileError, load_file, load_kb


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def by_id(result) -> dict:
    return {d.doc_id: d for d in result.documents}


def assert_one_line_naming(result, rel: str) -> str:
    messages = [e.message for e in result.errors if e.source == rel]
    assert len(messages) >= 1, f"no error for {rel}: {result.errors}"
    for message in messages:
        assert "\n" not in message
        assert rel in message
    return messages[0]


# ---------------------------------------------------------------- markdown


def test_markdown_front_matter_fields(tmp_path: Path) -> None:
    write(tmp_path, "returns/policy.md", "---\nid: returns-policy\ntitle: Returns policy\n"
          "url: https://help.example/returns\ntags: [returns, policy]\n---\n# Ignored heading\n\nYou have 30 days.\n")
    doc = by_id(load_kb(tmp_path))["returns-policy"]
    assert doc.title == "Returns policy"
    assert doc.url == "https://help.example/returns"
    assert doc.tags == ["returns", "policy"]
    assert doc.kind == "markdown"
    assert doc.source == "returns/policy.md"
    assert "You have 30 days." in doc.text
    assert "id: returns-policy" not in doc.text


def test_markdown_defaults_id_from_path_and_title_from_first_h1(tmp_path: Path) -> None:
    write(tmp_path, "guides/setup/pairing.markdown",
          "Intro line.\n\n```\n# not a heading, inside code\n```\n\n## Sub first\n\n# Pairing your buds\n\nHold the button.\n")
    write(tmp_path, "notes.md", "## only a second-level heading\n\ntext\n")
    docs = by_id(load_kb(tmp_path))
    assert docs["guides/setup/pairing"].title == "Pairing your buds"
    assert docs["notes"].title == "notes"  # no `# ` heading: the file stem
    assert docs["notes"].url is None and docs["notes"].tags == []


def test_markdown_tags_as_comma_string_and_numeric_id(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nid: 42\ntags: shipping, delivery\n---\nBody\n")
    doc = by_id(load_kb(tmp_path))["42"]
    assert doc.tags == ["shipping", "delivery"]


def test_invalid_front_matter_is_one_line_error_and_others_load(tmp_path: Path) -> None:
    write(tmp_path, "bad.md", "---\ntitle: [unclosed\nurl: x\n---\nBody\n")
    write(tmp_path, "good.md", "# Good\n\nfine\n")
    result = load_kb(tmp_path)
    message = assert_one_line_naming(result, "bad.md")
    assert "front matter" in message
    assert set(by_id(result)) == {"good"}


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    write(tmp_path, "list.md", "---\n- a\n- b\n---\nBody\n")
    result = load_kb(tmp_path)
    assert_one_line_naming(result, "list.md")
    assert result.documents == []


def test_unclosed_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "open.md", "---\ntitle: x\nBody without closing line\n")
    assert "never closed" in assert_one_line_naming(load_kb(tmp_path), "open.md")


# ---------------------------------------------------------------- html and txt


def test_html_title_text_and_structure(tmp_path: Path) -> None:
    write(tmp_path, "pages/warranty.html",
          "<html><head><title>Warranty terms</title><style>p{color:red}</style>"
          "<script>trackVisitor()</script></head><body><h1>Warranty</h1>"
          "<p>Two <b>years</b> of cover.</p><h2>Claims</h2><ul><li>Start online</li><li>Send it in</li></ul>"
          "</body></html>")
    doc = by_id(load_kb(tmp_path))["pages/warranty.html"]
    assert doc.title == "Warranty terms"
    assert doc.kind == "html"
    assert "trackVisitor" not in doc.text and "color:red" not in doc.text
    assert "Two years of cover." in doc.text
    blocks = doc.text.split("\n\n")
    assert "## Claims" in blocks and "- Start online" in blocks and "- Send it in" in blocks


def test_html_without_title_uses_h1_then_stem(tmp_path: Path) -> None:
    write(tmp_path, "a.htm", "<body><h1>Store hours</h1><p>Open daily.</p></body>")
    write(tmp_path, "b.html", "<body><p>Just text.</p></body>")
    docs = by_id(load_kb(tmp_path))
    assert docs["a.htm"].title == "Store hours"
    assert docs["b.html"].title == "b"


def test_txt_id_is_relative_path_and_title_is_stem(tmp_path: Path) -> None:
    write(tmp_path, "misc/opening-hours.txt", "We open at nine.\n\nWe close at six.\n")
    doc = by_id(load_kb(tmp_path))["misc/opening-hours.txt"]
    assert doc.title == "opening-hours"
    assert doc.kind == "text"
    assert doc.text == "We open at nine.\n\nWe close at six."


# ---------------------------------------------------------------- FAQ files


def test_jsonl_faq_records_and_bad_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "faq-hours", "question": "When are you open?", "answer": "Nine to six.",
                    "url": "https://help.example/hours", "tags": ["store"]}),
        "{this is not json",
        json.dumps({"question": "Do you ship abroad?", "answer": "Yes, to five countries."}),
        "",
        json.dumps({"question": "No answer here"}),
        json.dumps(["not", "an", "object"]),
    ]
    write(tmp_path, "help/faq.jsonl", "\n".join(lines) + "\n")
    result = load_kb(tmp_path)
    docs = by_id(result)
    assert set(docs) == {"faq-hours", "faq#3"}
    hours = docs["faq-hours"]
    assert (hours.kind, hours.title, hours.question, hours.text) == (
        "faq", "When are you open?", "When are you open?", "Nine to six.")
    assert hours.url == "https://help.example/hours" and hours.tags == ["store"]
    assert docs["faq#3"].source == "help/faq.jsonl#3"
    messages = sorted(e.message for e in result.errors)
    assert len(messages) == 3
    assert all("help/faq.jsonl" in m and "\n" not in m for m in messages)
    assert any("row 2" in m and "JSON" in m for m in messages)
    assert any("row 5" in m and "answer" in m for m in messages)
    assert any("row 6" in m for m in messages)


def test_csv_faq_with_defaults_semicolons_and_bad_row(tmp_path: Path) -> None:
    write(tmp_path, "faq.csv",
          'question,answer,tags,id\n'
          '"How long is the warranty?","Two years, from delivery.","warranty;support",\n'
          'Where is my invoice?,,billing,\n'
          '"Multi-line?","Line one\nline two",,faq-multi\n')
    write(tmp_path, "eu/vragen.csv", "Question;Answer\nHoe laat?;Om negen uur.\n")
    result = load_kb(tmp_path)
    docs = by_id(result)
    assert set(docs) == {"faq#1", "faq-multi", "vragen#1"}
    assert docs["faq#1"].text == "Two years, from delivery."
    assert docs["faq#1"].tags == ["warranty", "support"]
    assert docs["faq-multi"].text == "Line one\nline two"
    assert docs["vragen#1"].title == "Hoe laat?"
    message = assert_one_line_naming(result, "faq.csv")
    assert "row 2" in message and "answer" in message


def test_csv_without_question_answer_columns(tmp_path: Path) -> None:
    write(tmp_path, "bad.csv", "q,a\nWhat?,That.\n")
    write(tmp_path, "good.csv", "question,answer\nWhat?,That.\n")
    result = load_kb(tmp_path)
    message = assert_one_line_naming(result, "bad.csv")
    assert "question" in message and "answer" in message
    assert set(by_id(result)) == {"good#1"}


# ---------------------------------------------------------------- encodings and empty files


def test_cp1252_and_bom_files_load(tmp_path: Path) -> None:
    # cp1252: 0x80 is the euro sign, 0xe9 is é; neither is valid UTF-8 here.
    write(tmp_path, "legacy.txt", b"Caf\xe9 price: \x80 5 per month.\n")
    write(tmp_path, "bom.md", "\ufeff---\nid: bom-doc\ntitle: Résumé\n---\nText with ü.\n".encode("utf-8"))
    write(tmp_path, "bom.csv", "\ufeffquestion,answer\nÇa va?,Oui.\n".encode("utf-8"))
    result = load_kb(tmp_path)
    assert result.errors == []
    docs = by_id(result)
    assert docs["legacy.txt"].text == "Café price: € 5 per month."
    assert docs["bom-doc"].title == "Résumé"
    assert docs["bom#1"].question == "Ça va?"


def test_empty_files_are_errors_and_do_not_stop_the_load(tmp_path: Path) -> None:
    write(tmp_path, "empty.md", "")
    write(tmp_path, "blank.txt", "  \n\n")
    write(tmp_path, "empty.jsonl", "")
    write(tmp_path, "only-front-matter.md", "---\ntitle: Nothing\n---\n")
    write(tmp_path, "header-only.csv", "question,answer\n")
    write(tmp_path, "ok.md", "# Fine\n\ntext\n")
    result = load_kb(tmp_path)
    for rel in ("empty.md", "blank.txt", "empty.jsonl", "only-front-matter.md", "header-only.csv"):
        assert_one_line_naming(result, rel)
    assert set(by_id(result)) == {"ok"}


# ---------------------------------------------------------------- folder behaviour


def test_duplicate_ids_keep_the_first_file(tmp_path: Path) -> None:
    write(tmp_path, "a/first.md", "---\nid: shared\ntitle: First\n---\none\n")
    write(tmp_path, "b/second.md", "---\nid: shared\ntitle: Second\n---\ntwo\n")
    write(tmp_path, "c/faq.jsonl", json.dumps({"id": "shared", "question": "Q?", "answer": "A."}) + "\n")
    result = load_kb(tmp_path)
    assert [d.title for d in result.documents] == ["First"]
    message = assert_one_line_naming(result, "b/second.md")
    assert "duplicate" in message and "a/first.md" in message
    assert "c/faq.jsonl#1" in assert_one_line_naming(result, "c/faq.jsonl")


def test_hidden_entries_ignored_and_unknown_extensions_listed(tmp_path: Path) -> None:
    write(tmp_path, ".git/HEAD.md", "# not KB\n\nx\n")
    write(tmp_path, ".draft.md", "# hidden\n\nx\n")
    write(tmp_path, "images/logo.png", b"\x89PNG\r\n")
    write(tmp_path, "doc.md", "# Doc\n\nx\n")
    result = load_kb(tmp_path)
    assert [d.doc_id for d in result.documents] == ["doc"]
    assert result.errors == []
    assert result.skipped == ["images/logo.png"]


def test_missing_folder_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = load_kb(tmp_path / "nope")
    assert result.documents == [] and len(result.errors) == 1
    assert "not found" in result.errors[0].message


def test_load_file_raises_one_line_error(tmp_path: Path) -> None:
    bad = write(tmp_path, "x/bad.jsonl", '{"question": "Q", "answer": "A"}\nnope\n')
    with pytest.raises(KbFileError) as info:
        load_file(bad, tmp_path)
    assert "x/bad.jsonl row 2" in str(info.value)
    good = write(tmp_path, "x/good.md", "# T\n\nbody\n")
    assert [d.doc_id for d in load_file(good, tmp_path)] == ["x/good"]


def test_content_hash_tracks_indexed_fields(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: A\ntags: [x]\n---\nbody\n")
    write(tmp_path, "b.md", "# B\n\nbody\n")
    first = {d.doc_id: d.content_hash for d in load_kb(tmp_path).documents}
    assert first == {d.doc_id: d.content_hash for d in load_kb(tmp_path).documents}

    write(tmp_path, "a.md", "---\ntitle: A\ntags: [x, y]\n---\nbody\n")
    second = {d.doc_id: d.content_hash for d in load_kb(tmp_path).documents}
    assert second["a"] != first["a"] and second["b"] == first["b"]

    write(tmp_path, "a.md", "---\ntitle: A renamed\ntags: [x, y]\n---\nbody\n")
    third = {d.doc_id: d.content_hash for d in load_kb(tmp_path).documents}
    assert third["a"] != second["a"]

    write(tmp_path, "a.md", "---\ntitle: A renamed\ntags: [x, y]\nurl: https://h.example/a\n---\nbody\n")
    assert load_kb(tmp_path).documents[0].content_hash != third["a"]


def test_html_tables_read_as_rows_and_ordered_lists_keep_their_numbers(tmp_path: Path) -> None:
    from knowledge.chunking import chunk_document

    write(tmp_path, "plans.html", "<title>Plans</title><table><thead><tr><th>Plan</th><th>Monthly fee</th></tr>"
          "</thead><tbody><tr><td>Free</td><td>£0</td></tr><tr><td>Plus</td><td>£9</td></tr></tbody></table>"
          "<ol><li>Open the app.</li><li>Tap Plan.</li></ol>")
    result = load_kb(tmp_path)
    doc = by_id(result)["plans.html"]
    text = "\n".join(c.text for c in chunk_document(doc))
    assert "Free — Monthly fee: £0." in text and "Plus — Monthly fee: £9." in text
    assert "1. Open the app.\n2. Tap Plan." in text
    assert "|" not in text
