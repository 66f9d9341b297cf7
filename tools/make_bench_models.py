"""Benchmark models for `make bench` (tools/bench.sh), written once into bench-data/.

  make_bench_models.py tinyllama OUT.gguf
      A TinyLlama-1.1B-shaped llama GGUF (hidden 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632,
      vocab 32000) with llama.cpp's tensor names, random F16 weights (normal, σ 0.02; F32 norms)
      and a placeholder SentencePiece vocabulary, so llama.cpp (llama-bench, llama-quantize) and
      eah-bench load the same file. tools/bench.sh quantizes it with llama-quantize.

  make_bench_models.py llama7b-q4_k_m OUT.gguf
      A LLaMA-2-7B-shaped llama GGUF (hidden 4096, 32 layers, 32 heads, FFN 11008, vocab 32000,
      LLaVA-1.5-7B's language model) laid out as Q4_K_M: Q4_K matrices, Q6_K for attn_v, ffn_down
      and output (llama.cpp keeps some of those Q4_K; this is the heavier choice), about 4.1 GB of
      random blocks with moderate scales, streamed to disk. For the peak-RSS check.

  make_bench_models.py clip-mmproj OUT.gguf
      A LLaVA-1.5 mmproj for CLIP ViT-L/14-336 (the legacy llama.cpp layout: 23 encoder layers,
      F16 matrices, F32 vectors, an mlp projector to hidden 2048 so it pairs with the tinyllama
      model), random weights. For the image-encode comparison with llama-mtmd-cli.

Everything is pseudo-random with a fixed seed; only shapes and types matter for speed.
"""
import sys

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter, TokenType

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, VOCAB = 2048, 22, 32, 4, 5632, 32000


def vocabulary(writer, size):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(size - len(tokens))]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (size - len(types))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(size)])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)


def tinyllama(path):
    rng = np.random.default_rng(1234)
    writer = GGUFWriter(path, "llama")
    writer.add_name("tinyllama-shaped random")
    writer.add_context_length(2048)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(1)
    vocabulary(writer, VOCAB)

    def matrix(name, rows, columns):
        writer.add_tensor(name, (rng.standard_normal((rows, columns), dtype=np.float32) * 0.02).astype(np.float16))

    def norm(name):
        writer.add_tensor(name, np.ones(HIDDEN, dtype=np.float32))

    kv = HIDDEN // HEADS * KV_HEADS
    matrix("token_embd.weight", VOCAB, HIDDEN)
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        norm(p + "attn_norm.weight")
        matrix(p + "attn_q.weight", HIDDEN, HIDDEN)
        matrix(p + "attn_k.weight", kv, HIDDEN)
        matrix(p + "attn_v.weight", kv, HIDDEN)
        matrix(p + "attn_output.weight", HIDDEN, HIDDEN)
        norm(p + "ffn_norm.weight")
        matrix(p + "ffn_gate.weight", FFN, HIDDEN)
        matrix(p + "ffn_up.weight", FFN, HIDDEN)
        matrix(p + "ffn_down.weight", HIDDEN, FFN)
    norm("output_norm.weight")
    matrix("output.weight", VOCAB, HIDDEN)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def random_blocks(rng, qtype, rows, columns):
    """rows × columns of `qtype` as random blocks whose F16 scales are moderate."""
    elements, size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (rows, columns // elements, size), dtype=np.uint8)
    offsets = {GGMLQuantizationType.Q4_K: [0, 2], GGMLQuantizationType.Q6_K: [208]}[qtype]
    scale = np.full(blocks.shape[:2], 0.001, dtype="<f2").view(np.uint8).reshape(blocks.shape[0], blocks.shape[1], 2)
    for offset in offsets:
        blocks[:, :, offset:offset + 2] = scale
    return blocks.reshape(rows, -1)


def llama7b_q4_k_m(path):
    hidden, layers, heads, ffn, vocab = 4096, 32, 32, 11008, 32000
    q4, q6 = GGMLQuantizationType.Q4_K, GGMLQuantizationType.Q6_K
    plan = [("token_embd.weight", vocab, hidden, q4)]
    for layer in range(layers):
        p = f"blk.{layer}."
        plan += [(p + "attn_norm.weight", 0, hidden, None), (p + "attn_q.weight", hidden, hidden, q4),
                 (p + "attn_k.weight", hidden, hidden, q4), (p + "attn_v.weight", hidden, hidden, q6),
                 (p + "attn_output.weight", hidden, hidden, q4), (p + "ffn_norm.weight", 0, hidden, None),
                 (p + "ffn_gate.weight", ffn, hidden, q4), (p + "ffn_up.weight", ffn, hidden, q4),
                 (p + "ffn_down.weight", hidden, ffn, q6)]
    plan += [("output_norm.weight", 0, hidden, None), ("output.weight", vocab, hidden, q6)]
    writer = GGUFWriter(path, "llama")
    writer.add_name("llama-2-7b-shaped random Q4_K_M")
    writer.add_context_length(4096)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(15)
    vocabulary(writer, vocab)
    for name, rows, columns, qtype in plan:
        if qtype is None:
            writer.add_tensor_info(name, (columns,), np.dtype(np.float32), columns * 4)
        else:
            elements, size = GGML_QUANT_SIZES[qtype]
            writer.add_tensor_info(name, (rows, columns // elements * size), np.dtype(np.uint8),
                                   rows * columns // elements * size, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    rng = np.random.default_rng(7)
    for name, rows, columns, qtype in plan:
        if qtype is None:
            writer.write_tensor_data(np.ones(columns, dtype=np.float32))
        else:
            writer.write_tensor_data(random_blocks(rng, qtype, rows, columns))
    writer.close()


def clip_mmproj(path):
    rng = np.random.default_rng(336)
    hidden, ffn, heads, layers, image, patch, text = 1024, 4096, 16, 23, 336, 14, HIDDEN
    w = GGUFWriter(path, "clip")
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_file_type(1)
    w.add_name("clip-vit-large-patch14-336 random")
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", image)
    w.add_uint32("clip.vision.patch_size", patch)
    w.add_uint32("clip.vision.embedding_length", hidden)
    w.add_uint32("clip.vision.feed_forward_length", ffn)
    w.add_uint32("clip.vision.projection_dim", 768)
    w.add_uint32("clip.vision.attention.head_count", heads)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-5)
    w.add_uint32("clip.vision.block_count", layers)
    w.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    w.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    w.add_bool("clip.use_gelu", False)

    def matrix(name, rows, columns):
        w.add_tensor(name, (rng.standard_normal((rows, columns), dtype=np.float32) * 0.02).astype(np.float16))

    def vector(name, n, value=None):
        w.add_tensor(name, np.full(n, value, dtype=np.float32) if value is not None else rng.standard_normal(n, dtype=np.float32) * 0.02)

    w.add_tensor("v.patch_embd.weight", (rng.standard_normal((hidden, 3, patch, patch), dtype=np.float32) * 0.02).astype(np.float16))
    vector("v.class_embd", hidden)
    w.add_tensor("v.position_embd.weight", rng.standard_normal(((image // patch) ** 2 + 1, hidden), dtype=np.float32) * 0.02)
    vector("v.pre_ln.weight", hidden, 1.0)
    vector("v.pre_ln.bias", hidden, 0.0)
    for layer in range(layers):
        p = f"v.blk.{layer}."
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            matrix(p + name + ".weight", hidden, hidden)
            vector(p + name + ".bias", hidden)
        for name in ("ln1", "ln2"):
            vector(p + name + ".weight", hidden, 1.0)
            vector(p + name + ".bias", hidden, 0.0)
        # The legacy converter's names are swapped: ffn_down holds fc1, ffn_up fc2.
        matrix(p + "ffn_down.weight", ffn, hidden)
        vector(p + "ffn_down.bias", ffn)
        matrix(p + "ffn_up.weight", hidden, ffn)
        vector(p + "ffn_up.bias", hidden)
    matrix("mm.0.weight", text, hidden)
    vector("mm.0.bias", text)
    matrix("mm.2.weight", text, text)
    vector("mm.2.bias", text)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    makers = {"tinyllama": tinyllama, "llama7b-q4_k_m": llama7b_q4_k_m, "clip-mmproj": clip_mmproj}
    if len(sys.argv) != 3 or sys.argv[1] not in makers:
        sys.exit("usage: make_bench_models.py tinyllama|llama7b-q4_k_m|clip-mmproj OUT.gguf")
    makers[sys.argv[1]](sys.argv[2])
