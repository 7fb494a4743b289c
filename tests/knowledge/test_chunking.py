"""Chunking keeps structure, heading paths and exact line ranges (KB-1, KB-5)."""

import itertools

from apps.knowledge.chunking import chunk_text, parse_blocks
from apps.knowledge.tokens import count_tokens

DOC = """# VPN guide

Intro paragraph about the VPN.

## Reset a password

1. Open the portal.
2. Click *Reset*.
   Continue on the next screen.
3. Done.

| Setting | Value |
|---|---|
| Port | 1194 |

## Logs

```bash
# not a heading
journalctl -u openvpn
```

Setext title
------------

Closing words.
"""


def test_blocks_respect_fences_lists_and_tables() -> None:
    kinds = [(b.kind, b.start, b.end) for b in parse_blocks(DOC)]
    assert kinds == [
        ("heading", 1, 1),
        ("paragraph", 3, 3),
        ("heading", 5, 5),
        ("list", 7, 10),
        ("table", 12, 14),
        ("heading", 16, 16),
        ("code", 18, 21),
        ("heading", 23, 24),
        ("paragraph", 26, 26),
    ]


def test_each_section_is_its_own_chunk_with_heading_path_and_lines() -> None:
    chunks = chunk_text(DOC)
    summary = [(c.heading_path, c.line_start, c.line_end) for c in chunks]
    assert summary == [
        (["VPN guide"], 3, 3),
        (["VPN guide", "Reset a password"], 7, 14),
        (["VPN guide", "Logs"], 18, 21),
        (["VPN guide", "Setext title"], 26, 26),
    ]
    assert "# not a heading" in chunks[2].text  # inside a fence, never a heading
    lines = DOC.split("\n")
    for chunk in chunks:  # the line range points at the chunk's own text
        assert chunk.text.split("\n")[0] in lines[chunk.line_start - 1]
    assert chunks[1].embedding_input("Guide").startswith("Guide > VPN guide > Reset a password\n\n1. Open")


def test_long_sections_split_under_the_token_budget_at_natural_seams() -> None:
    rows = "\n".join(f"| host{i} | 10.0.0.{i} | primary datacenter rack {i} |" for i in range(120))
    items = "\n".join(f"- step {i}: restart the service number {i} and check its logs" for i in range(80))
    code = "\n".join(f"echo line {i} of a long script" for i in range(150))
    doc = f"# Big\n\n| Host | IP | Where |\n|---|---|---|\n{rows}\n\n## Steps\n\n{items}\n\n"
    doc += f"## Script\n\n```sh\n{code}\n```\n"
    chunks = chunk_text(doc, max_tokens=120)
    assert all(c.token_count <= 120 for c in chunks), [c.token_count for c in chunks]
    tables = [c for c in chunks if c.heading_path == ["Big"]]
    assert len(tables) > 3
    assert all(c.text.startswith("| Host | IP | Where |\n|---|---|---|") for c in tables)  # header repeated
    assert tables[0].line_start == 3 and tables[-1].line_end == 124
    steps = [c for c in chunks if c.heading_path == ["Big", "Steps"]]
    assert all(c.text.startswith("- step") for c in steps)  # never cut inside an item
    scripts = [c for c in chunks if c.heading_path == ["Big", "Script"]]
    assert len(scripts) > 2 and all(c.text.startswith("```sh") and c.text.endswith("```") for c in scripts)
    # Ranges are contiguous and ordered: together they cover the section.
    for before, after in itertools.pairwise(scripts):
        assert after.line_start == before.line_end + 1


def test_one_enormous_paragraph_is_split_by_sentences() -> None:
    text = " ".join(f"Sentence number {i} explains one more detail about backups." for i in range(200))
    chunks = chunk_text(text, markdown=False, max_tokens=100)
    assert len(chunks) > 5
    assert all(c.token_count <= 100 for c in chunks)
    assert all(c.line_start == c.line_end == 1 for c in chunks)


def test_plain_text_does_not_read_hashes_as_headings() -> None:
    chunks = chunk_text("#1 priority is uptime\n\nsecond paragraph", markdown=False)
    assert chunks[0].heading_path == []
    assert chunks[0].line_start == 1 and chunks[0].line_end == 3


def test_tokens_are_counted_with_the_models_tokenizer() -> None:
    # WordPiece splits unknown words: more tokens than words.
    assert count_tokens("journalctl openvpn") > 2
