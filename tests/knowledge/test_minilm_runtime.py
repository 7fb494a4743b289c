"""The local model's ONNX file is built offline when missing, reused when present, and fails with a message
that says what to do; only a process that embeds loads it, and nothing on the way imports torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from safetensors.numpy import save_file

from apps.knowledge import minilm_runtime
from apps.knowledge.embeddings import LocalMiniLM
from apps.knowledge.minilm_runtime import ModelUnavailable, ensure_model_file
from apps.knowledge.tokens import bundled_model_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build into a scratch cache, shared by the tests that only read it."""
    model_dir = bundled_model_dir()
    assert model_dir is not None
    path, was_built = ensure_model_file(model_dir, [tmp_path_factory.mktemp("models")])
    assert was_built
    return path


def test_a_missing_file_is_built_then_reused(built: Path, tmp_path: Path) -> None:
    model_dir = bundled_model_dir()
    assert model_dir is not None
    assert built.stat().st_size > 80_000_000  # the weights are in it: nothing is fetched at run time
    again, was_built = ensure_model_file(model_dir, [tmp_path / "unused", built.parent])
    assert (again, was_built) == (built, False)  # found in the second directory; the first stays untouched
    assert not (tmp_path / "unused").exists()


def test_a_file_for_other_sources_is_replaced(built: Path, tmp_path: Path) -> None:
    model_dir = bundled_model_dir()
    assert model_dir is not None
    cache = tmp_path / "models"
    cache.mkdir()
    stale = cache / "all-MiniLM-L6-v2.0123456789abcdef.onnx"  # an older builder's or package's graph
    shutil.copyfile(built, stale)
    path, was_built = ensure_model_file(model_dir, [cache])
    assert was_built and path.name == built.name and not stale.exists()
    assert [p.name for p in cache.glob("*.onnx")] == [built.name]


def test_the_fingerprint_follows_the_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    model_dir = bundled_model_dir()
    assert model_dir is not None
    before = minilm_runtime.fingerprint(model_dir)
    monkeypatch.setattr(minilm_runtime, "GRAPH_VERSION", minilm_runtime.GRAPH_VERSION + 1)
    assert minilm_runtime.fingerprint(model_dir) != before


def test_a_cache_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "models"
    blocker.write_text("not a directory")
    model_dir = bundled_model_dir()
    assert model_dir is not None
    with pytest.raises(ModelUnavailable, match=r"Cannot write the ONNX embedding model.*minilm_runtime"):
        ensure_model_file(model_dir, [blocker])


def test_incomplete_model_files_are_named(tmp_path: Path) -> None:
    model_dir = bundled_model_dir()
    assert model_dir is not None
    partial = tmp_path / "model"
    shutil.copytree(model_dir, partial, ignore=shutil.ignore_patterns("model.safetensors"))
    with pytest.raises(ModelUnavailable, match=r"model\.safetensors is missing"):
        ensure_model_file(partial, [tmp_path / "models"])
    (partial / "model.safetensors").write_bytes(b"\x00" * 64)  # present but not safetensors
    with pytest.raises(ModelUnavailable, match=r"Cannot read .*model\.safetensors"):
        ensure_model_file(partial, [tmp_path / "models"])
    save_file({"embeddings.word_embeddings.weight": np.zeros((2, 2), np.float32)}, str(partial / "model.safetensors"))
    with pytest.raises(ModelUnavailable, match="is not the all-MiniLM-L6-v2 release"):  # readable, other weights
        ensure_model_file(partial, [tmp_path / "models"])
    assert not list((tmp_path / "models").glob("*.onnx"))


def test_a_corrupt_onnx_file_says_to_delete_it(tmp_path: Path) -> None:
    model_dir = bundled_model_dir()
    assert model_dir is not None
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelUnavailable, match="Delete it to have it rebuilt"):
        minilm_runtime.MiniLMRuntime(model_dir, broken)


def test_the_provider_reports_an_unloadable_model_as_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apps.knowledge.embeddings.ensure_model_file", _fail)
    with pytest.raises(ImproperlyConfigured, match="local embedding model cannot be loaded: no luck"):
        LocalMiniLM().embed(["hello"])


def _fail(*args: object) -> None:
    raise ModelUnavailable("no luck")


def test_the_install_command_builds_once(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "apps.knowledge.minilm_runtime", "--dir", str(tmp_path)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "built in" in first.stdout and "already built" in second.stdout


_BLOCKED_EMBED = """
import sys
sys.modules["torch"] = None  # any import of torch or sentence-transformers now raises ImportError
sys.modules["sentence_transformers"] = None
sys.modules["transformers"] = None
import django
django.setup()
import apps.knowledge.embeddings as embeddings
assert "onnxruntime" not in sys.modules, "importing the provider loaded the runtime"
provider = embeddings.provider_for("local")
assert "onnxruntime" not in sys.modules, "creating the provider loaded the runtime"
vector = provider.embed_query("How do I reset my password?")
assert len(vector) == 384 and "onnxruntime" in sys.modules
print("embedded without torch")
"""


def test_embedding_needs_no_torch_and_loads_only_when_used() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gaby_site.settings_test", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_EMBED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "embedded without torch" in result.stdout
