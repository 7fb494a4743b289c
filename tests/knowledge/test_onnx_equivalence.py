"""The ONNX runtime embeds exactly as sentence-transformers did, so vectors stored before the switch stay valid.

The reference vectors were recorded from sentence-transformers 6.2.0 on torch 2.13.0 before either left the
install (fixtures/record_minilm_reference.py). Each text's vector from Gaby's local provider must be the same
(cosine ≥ 0.99999), and every text must see the others in the same nearest-neighbour order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from apps.knowledge import minilm_runtime
from apps.knowledge.tokens import bundled_model_dir

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vectors(provider: Any) -> np.ndarray:
    return np.array(provider.embed(REFERENCE["texts"]), dtype=np.float64)


def test_the_fixture_covers_what_it_claims(provider: Any) -> None:
    texts = REFERENCE["texts"]
    model_dir = bundled_model_dir()
    assert model_dir is not None
    whole = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    whole.no_truncation()
    assert len(texts) >= 30 and len(REFERENCE["vectors"]) == len(texts)
    assert sum(len(e.ids) > 256 for e in whole.encode_batch(texts)) >= 3  # past the cut at 256 word pieces
    assert max(len(ids) for ids in provider._load().tokenize(texts)) == 256
    assert "" in texts and sum(not t.isascii() for t in texts) >= 8


def test_each_vector_is_the_one_sentence_transformers_gave(provider: Any, vectors: np.ndarray) -> None:
    assert provider.model == REFERENCE["model"]  # same vectors, same stored name: nothing re-embeds
    reference = np.array(REFERENCE["vectors"], dtype=np.float64)
    cosines = (vectors * reference).sum(axis=1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.99999, f"{REFERENCE['texts'][worst][:60]!r}: cosine {cosines[worst]:.7f}"
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # normalised, as before


def test_every_text_sees_its_neighbours_in_the_same_order(vectors: np.ndarray) -> None:
    reference = np.array(REFERENCE["vectors"], dtype=np.float64)
    ours, theirs = vectors @ vectors.T, reference @ reference.T
    for i, text in enumerate(REFERENCE["texts"]):
        expected = np.argsort(-theirs[i], kind="stable")
        assert np.argsort(-ours[i], kind="stable").tolist() == expected.tolist(), f"neighbours of {text[:60]!r}"


def test_padding_never_leaks_into_a_vector(provider: Any) -> None:
    """A short text batched with long ones (padded to their width) gets the vector it gets alone."""
    runtime = provider._load()
    texts = ["ok", REFERENCE["texts"][29], "How do I reset my password?", "thanks " * 120]
    rows = runtime.tokenize(texts)
    together = runtime.run(rows)  # one call, every row padded to the longest
    for i, row in enumerate(rows):
        alone = runtime.run([row])[0]
        assert np.abs(together[i] - alone).max() < 1e-5, texts[i][:40]


def test_words_past_the_256th_word_piece_change_nothing(provider: Any) -> None:
    long_text = REFERENCE["texts"][29]
    first, second = provider.embed([long_text, long_text + " Also, the printer is on fire."])
    assert np.abs(np.array(first) - np.array(second)).max() < 1e-6


def test_batches_split_by_token_budget_keep_the_callers_order(provider: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = provider._load()
    texts = REFERENCE["texts"]
    whole = runtime.encode(texts)
    calls: list[int] = []
    real_run = runtime.run
    monkeypatch.setattr(minilm_runtime, "TOKENS_PER_RUN", 300)

    def counted_run(rows: Any) -> np.ndarray:
        calls.append(len(rows))
        return real_run(rows)

    monkeypatch.setattr(runtime, "run", counted_run)
    split = runtime.encode(texts)
    assert len(calls) > 3 and sum(calls) == len(texts)
    assert np.abs(split - whole).max() < 1e-5
