"""The Debian FAQ parser of bench/retrieval_quality.py, on a small sample of the package's text (no network)."""

from __future__ import annotations

from pathlib import Path

from bench.debian_faq import parse, write_answers

NBSP = "\u00a0"
SAMPLE = f"""
Table of Contents

1. Definitions and overview
    1.1. What is this FAQ?

Chapter 1. Definitions and overview

1.1.{NBSP}What is this FAQ?

    This document gives frequently asked questions (with their
    answers!) about the Debian distribution and about the Debian project.
{NBSP} {NBSP} {NBSP}  See Section{NBSP}4.4, “How source code compatible is Debian with other
    Unix systems?”.

1.5.{NBSP}What is the difference between Debian and other Linux
distributions? Why should I choose Debian?

    These key features distinguish Debian from other Linux distributions,
    among them freedom, the package maintenance system and open development.

    Freedom:

        Debian will remain 100% free.

1.6.{NBSP}Too short?

    Yes.

Chapter 2. Getting and installing Debian GNU/Linux

2.1.1.{NBSP}Where can I get the installation images for the current release?

    Download them from the Debian website, where every architecture has its own
    set of images, verified by signed checksum files.
"""


def test_sections_pair_questions_with_their_answers(tmp_path: Path) -> None:
    pairs = parse(SAMPLE)
    assert [(p.number, p.question) for p in pairs] == [
        ("1.1", "What is this FAQ?"),
        ("1.5", "What is the difference between Debian and other Linux distributions? Why should I choose Debian?"),
        ("2.1.1", "Where can I get the installation images for the current release?"),
    ]  # 1.6 is left out: too short an answer to retrieve
    first, second, _ = pairs
    assert first.answer.startswith("This document gives frequently asked questions")
    # A cross-reference keeps its number but not the other section's question.
    assert "See Section 4.4." in " ".join(first.answer.split()) and "compatible" not in first.answer
    assert "Freedom:\n\n    Debian will remain 100% free." in second.answer  # nesting kept, base indent removed
    assert "Chapter 2" not in second.answer

    write_answers(pairs, tmp_path)
    document = (tmp_path / "faq-1.5.md").read_text()
    assert document.startswith("# Debian FAQ section 1.5\n") and "Why should I choose" not in document
