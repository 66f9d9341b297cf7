#!/usr/bin/env python3
"""Writes Tests/Fixtures/llava/: tiny random LLaVA-1.5-style models in every checkpoint layout,
with transformers' own logits and greedy generations as references.

Run: /work/venv/bin/python tools/make_llava_fixtures.py   (transformers 5.24.0, torch CPU,
safetensors 0.8.0, gguf 0.19.0). Deterministic: fixed seeds, float32, eager attention; re-running
rewrites identical tensors (GGUF and .bin bytes are deterministic too).

Models (folder `Tests/Fixtures/llava/<model>/`):

  m1-gqa-bias     text hidden 32, 4 heads / 2 kv heads (GQA), head_dim 8, attention_bias, 2 layers,
                  vocab 320, rope default theta 10000, rms eps 1e-5; vision hidden 32, 3 layers,
                  quick_gelu, image 28 / patch 14 (4 patches); vision_feature_layer -2, strategy
                  default (4 image features); image token 300. The LLaVA-1.5 shape: every layout.
  m2-mha-gelu-full-tied
                  text hidden 48, 4 heads (MHA) → head_dim 12, vocab 384, tied embeddings, rope
                  llama3 (factor 8, low 1, high 4, original 64) theta 500000; vision gelu, 2 layers,
                  image 42 (9 patches), vision_feature_layer -1, strategy full (10 features);
                  image token 383.
  m3-featlist-headdim
                  text hidden 32, 4 heads / 1 kv head, explicit head_dim 16, rope linear factor 2
                  theta 1e6 written the old way (`rope_theta` + `rope_scaling: {type: linear}` in
                  text_config); vision quick_gelu, 2 layers; vision_feature_layer [-2, -1] (projector
                  input 64), strategy default; image token 299.
  m4-defaults     config.json omits every field with a transformers default (as real llava-hf repos
                  do): eps 1e-6, rope theta 10000, kv heads = heads, max positions 2048, vision
                  quick_gelu eps 1e-5, projector gelu, feature layer -2, strategy default. Sizes as m1
                  without GQA/bias; image token 300 (given).

Per model: `facts.json` (the config facts, prompt, files), `expected.safetensors` with
  input_ids I64 [1, seq], pixel_values F32 [1, 3, H, W],
  logits F32 [seq + 6 - 1, vocab] (prompt rows, then one row per decode step; the last generated
  token's own row is not included), generated I64 [6] (greedy, `generate(do_sample=False,
  max_new_tokens=6)`; the image token never appears in it).
Variants with rounded/quantized weights have their own expected file (same inputs, logits of
transformers run in F32 with the weights as the variant stores them):
  expected-f16.safetensors / expected-bf16.safetensors (every weight rounded, m1 hf-current-f16/-bf16),
  expected-gguf-f32.safetensors (m1 gguf text-f32 + mmproj-f32: only the patch conv is F16),
  expected-gguf-f16.safetensors (m1 text-f16 + mmproj-f16: every 2-D weight F16, 1-D F32),
  expected-gguf-q8_0.safetensors (m1 text-q8_0 + mmproj-f32: text matrices Q8_0 dequantized).

Layouts (subfolders):
  hf-save/          m1: exactly what transformers 5.24 `save_pretrained` writes: `language_model.model.*`,
                    `language_model.lm_head.weight`, `multi_modal_projector.*`, and `vision_tower.*`
                    WITHOUT `vision_model.` (5.24 saves the CLIP tower flattened).
  hf-current/       m1: transformers 4.52-4.57 names: `model.language_model.*`, `lm_head.*`,
                    `model.vision_tower.vision_model.*`, `model.multi_modal_projector.*` (model.safetensors).
  hf-current-f16/, hf-current-bf16/  m1 the same in F16 / BF16.
  hf-inmemory/      m3: transformers 5.24 in-memory state_dict names: `model.language_model.*`,
                    `lm_head.*`, `model.vision_tower.*` (no vision_model), `model.multi_modal_projector.*`.
  hf-legacy-safetensors/  m2: long-standing llava-hf names (`language_model.model.*`,
                    `language_model.lm_head.*` (absent: tied), `vision_tower.vision_model.*`,
                    `multi_modal_projector.*`) in 2 shards + model.safetensors.index.json.
  hf-legacy-bin/    m2: the same names as torch.save shards pytorch_model-0000N-of-00002.bin +
                    pytorch_model.bin.index.json.
  hf-legacy/        m4: legacy names, one model.safetensors, minimal config.json.
  original/         m1: the original LLaVA-1.5 release: config.json (model_type llava_llama, mm_* keys,
                    LLaMA fields at the top level), `model.embed_tokens`, `model.layers.*`, `model.norm`,
                    `lm_head`, `model.mm_projector.{0,2}.*` in pytorch_model-0000N-of-00002.bin + index.
                    No vision tower inside: pass clip-vision/.
  clip-vision/      m1's tower as a CLIP vision folder: config.json (model_type clip_vision_model) and
                    model.safetensors with `vision_model.*` names (hub CLIP repos, transformers 4.x).
  clip-vision-save524/  the same as transformers 5.24's CLIPVisionModel.save_pretrained writes it:
                    names without the `vision_model.` prefix (`embeddings.*`, `encoder.layers.*`, ...).
  gguf/             m1: text-f32.gguf, text-f16.gguf, text-q8_0.gguf (llama arch, Q/K rows permuted as
                    convert_hf_to_gguf's LlamaModel.permute, biases too; 1-D tensors F32), and
                    mmproj-f32.gguf (legacy convert_image_encoder_to_gguf.py ftype 0: patch conv always
                    F16, the rest F32), mmproj-f16.gguf (ftype 1: 2-D weights F16); both drop the last
                    encoder layer (block_count = layers - 1) and name fc1 → ffn_down, fc2 → ffn_up.

`rope.json`: inverse frequencies and attention factors from transformers' ROPE_INIT_FUNCTIONS for a
few parameter sets (default, linear, dynamic at its base length, llama3, yarn with and without mscale).
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import save_file

import gguf
from transformers import (CLIPVisionConfig, CLIPVisionModel, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration)
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "llava")
NEW_TOKENS = 6
torch.set_grad_enabled(False)


# ----------------------------------------------------------------------------- models

def build(seed, text, vision, **top):
    cfg = LlavaConfig(text_config=LlamaConfig(**text).to_dict(), vision_config=CLIPVisionConfig(**vision).to_dict(),
                      attn_implementation="eager", **top)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(cfg).eval().float()
    # Random init is tiny (std 0.02); widen it so logits are not flat and greedy choices are stable.
    gen = torch.Generator().manual_seed(seed + 1000)
    for name, p in model.named_parameters():
        if p.dim() >= 2:
            p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / math.sqrt(p.shape[-1] if p.dim() == 2 else p[0].numel())))
        elif "norm" in name or "layer_norm" in name or "layrnorm" in name:
            p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen)) if name.endswith("weight") else p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return model


def feature_count(cfg):
    v = cfg.vision_config
    n = (v.image_size // v.patch_size) ** 2
    return n + (1 if cfg.vision_feature_select_strategy == "full" else 0)


def inputs_for(model, seed):
    cfg = model.config
    v = cfg.vision_config
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randn((1, 3, v.image_size, v.image_size), generator=gen)
    vocab = cfg.text_config.vocab_size
    text = torch.randint(3, min(vocab, cfg.image_token_index), (6,), generator=gen).tolist()
    ids = [1] + text[:3] + [cfg.image_token_index] * feature_count(cfg) + text[3:]
    return torch.tensor([ids], dtype=torch.long), pixels


def reference(model, input_ids, pixels):
    """Prompt logits, then one row per decode step; and the greedy tokens."""
    mask = torch.ones_like(input_ids)
    prompt = model(input_ids=input_ids, pixel_values=pixels, attention_mask=mask).logits[0]
    out = model.generate(input_ids=input_ids, pixel_values=pixels, attention_mask=mask, do_sample=False,
                         max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, output_logits=True,
                         return_dict_in_generate=True, pad_token_id=0, eos_token_id=None)
    generated = out.sequences[0, input_ids.shape[1]:]
    steps = torch.stack([l[0] for l in out.logits])  # [N, vocab]; steps[0] is the prompt's last row
    assert torch.allclose(steps[0], prompt[-1], atol=1e-4), "generate's first step differs from the prompt forward"
    assert model.config.image_token_index not in generated.tolist(), "greedy output hit the image token; change the seed"
    logits = torch.cat([prompt, steps[1:]], 0).float().contiguous()
    return logits, generated.to(torch.long)


def write_expected(folder, name, input_ids, pixels, logits, generated):
    save_file({"input_ids": input_ids.contiguous(), "pixel_values": pixels.contiguous(), "logits": logits,
               "generated": generated.contiguous()}, os.path.join(folder, name))


def with_weights(model, transform):
    """A copy of `model` whose parameters went through transform(name, tensor) → tensor (F32)."""
    clone = LlavaForConditionalGeneration(model.config).eval().float()
    clone.load_state_dict(model.state_dict())
    for name, p in clone.named_parameters():
        p.copy_(transform(name, p.detach().clone()).float())
    return clone


# ----------------------------------------------------------------------------- names

def sd(model):
    """5.24 in-memory names: model.language_model.*, lm_head.*, model.vision_tower.* (no vision_model)."""
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def rename(state, layout):
    out = {}
    for k, v in state.items():
        if layout == "inmemory":
            n = k
        elif layout == "current":  # transformers 4.52-4.57
            n = k.replace("model.vision_tower.", "model.vision_tower.vision_model.")
        elif layout == "legacy":
            if k.startswith("lm_head."):
                n = "language_model." + k
            elif k.startswith("model.language_model."):
                n = "language_model.model." + k[len("model.language_model."):]
            elif k.startswith("model.vision_tower."):
                n = "vision_tower.vision_model." + k[len("model.vision_tower."):]
            elif k.startswith("model.multi_modal_projector."):
                n = k[len("model."):]
            else:
                raise KeyError(k)
        else:
            raise KeyError(layout)
        out[n] = v
    return out


def drop_tied(state, model):
    if model.config.tie_word_embeddings or model.config.text_config.tie_word_embeddings:
        return {k: v for k, v in state.items() if not k.endswith("lm_head.weight")}
    return state


def save_sharded(folder, tensors, kind, shards=2):
    os.makedirs(folder, exist_ok=True)
    names = list(tensors)
    per = (len(names) + shards - 1) // shards
    weight_map, total = {}, 0
    for s in range(shards):
        part = {n: tensors[n].contiguous() for n in names[s * per:(s + 1) * per]}
        if kind == "safetensors":
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            save_file(part, os.path.join(folder, fname), metadata={"format": "pt"})
        else:
            fname = f"pytorch_model-{s + 1:05d}-of-{shards:05d}.bin"
            torch.save(part, os.path.join(folder, fname))
        for n, t in part.items():
            weight_map[n] = fname
            total += t.numel() * t.element_size()
    index = "model.safetensors.index.json" if kind == "safetensors" else "pytorch_model.bin.index.json"
    with open(os.path.join(folder, index), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def hf_config(model):
    return json.loads(model.config.to_json_string(use_diff=False))


def save_hf(folder, model, tensors, config=None):
    os.makedirs(folder, exist_ok=True)
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    write_json(os.path.join(folder, "config.json"), config or hf_config(model))


def check_loads(folder, model_logits, input_ids, pixels, atol=1e-5):
    """transformers itself must load the folder and reproduce the prompt logits."""
    loaded = LlavaForConditionalGeneration.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
    got = loaded(input_ids=input_ids, pixel_values=pixels, attention_mask=torch.ones_like(input_ids)).logits[0]
    err = (got - model_logits[: got.shape[0]]).abs().max().item()
    assert err <= atol, f"{folder}: transformers reloads it with max error {err}"
    return loaded


# ----------------------------------------------------------------------------- original LLaVA

def write_original(folder, model):
    c = model.config
    t = c.text_config
    state = sd(model)
    tensors = {}
    for k, v in state.items():
        if k.startswith("model.language_model."):
            tensors["model." + k[len("model.language_model."):]] = v
        elif k == "lm_head.weight":
            tensors[k] = v
        elif k.startswith("model.multi_modal_projector.linear_1."):
            tensors["model.mm_projector.0." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("model.multi_modal_projector.linear_2."):
            tensors["model.mm_projector.2." + k.rsplit(".", 1)[1]] = v
    save_sharded(folder, tensors, "bin")
    layer = c.vision_feature_layer
    config = {
        "_name_or_path": "./checkpoints/llava-tiny",
        "architectures": ["LlavaLlamaForCausalLM"],
        "attention_bias": t.attention_bias,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "freeze_mm_mlp_adapter": False,
        "hidden_act": "silu",
        "hidden_size": t.hidden_size,
        "image_aspect_ratio": "pad",
        "initializer_range": 0.02,
        "intermediate_size": t.intermediate_size,
        "max_position_embeddings": t.max_position_embeddings,
        "mm_hidden_size": c.vision_config.hidden_size,
        "mm_patch_merge_type": "flat",
        "mm_projector_lr": None,
        "mm_projector_type": "mlp2x_gelu",
        "mm_use_im_patch_token": False,
        "mm_use_im_start_end": False,
        "mm_vision_select_feature": "patch",
        "mm_vision_select_layer": layer,
        "mm_vision_tower": "openai/clip-vit-large-patch14-336",
        "model_type": "llava_llama",
        "num_attention_heads": t.num_attention_heads,
        "num_hidden_layers": t.num_hidden_layers,
        "num_key_value_heads": t.num_key_value_heads,
        "pad_token_id": 0,
        "pretraining_tp": 1,
        "rms_norm_eps": t.rms_norm_eps,
        "rope_scaling": None,
        "rope_theta": t.rope_parameters["rope_theta"],
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.31.0",
        "tune_mm_mlp_adapter": False,
        "use_cache": True,
        "use_mm_proj": True,
        "vocab_size": t.vocab_size,
    }
    write_json(os.path.join(folder, "config.json"), config)


def write_clip_folder(folder, model, prefixed):
    """m1's tower as a CLIP vision folder. prefixed: tensor names `vision_model.*` (what hub CLIP repos and
    transformers 4.x `CLIPVisionModel.save_pretrained` hold); else what 5.24's save_pretrained writes (no prefix)."""
    tower = CLIPVisionModel(model.config.vision_config).eval()
    missing, unexpected = tower.load_state_dict({k[len("model.vision_tower."):]: v for k, v in sd(model).items()
                                                 if k.startswith("model.vision_tower.")}, strict=False)
    assert not unexpected and not missing, (missing, unexpected)
    tower.save_pretrained(folder)
    for extra in ("generation_config.json",):
        p = os.path.join(folder, extra)
        if os.path.exists(p):
            os.remove(p)
    from safetensors import safe_open
    from safetensors.torch import load_file
    path = os.path.join(folder, "model.safetensors")
    if prefixed:
        tensors = load_file(path)
        assert not any(k.startswith("vision_model.") for k in tensors)
        save_file({"vision_model." + k: v for k, v in tensors.items()}, path, metadata={"format": "pt"})
        reloaded = CLIPVisionModel.from_pretrained(folder)
        for k, v in tower.state_dict().items():
            assert torch.equal(v, reloaded.state_dict()[k]), k
    with safe_open(path, "pt") as f:
        return sorted(f.keys())


# ----------------------------------------------------------------------------- GGUF

def permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.LlamaModel.permute."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


Q = gguf.GGMLQuantizationType


def text_gguf_tensors(model):
    """(gguf name, numpy array in HF orientation after permutation) in convert_hf_to_gguf order."""
    t = model.config.text_config
    state = sd(model)
    out = []
    for k, v in state.items():
        if not (k.startswith("model.language_model.") or k == "lm_head.weight"):
            continue
        a = v.numpy().astype(np.float32)
        n = k[len("model.language_model."):] if k.startswith("model.language_model.") else k
        if n.endswith(("q_proj.weight", "q_proj.bias")):
            a = permute(a, t.num_attention_heads, t.num_attention_heads)
        if n.endswith(("k_proj.weight", "k_proj.bias")):
            a = permute(a, t.num_attention_heads, t.num_key_value_heads)
        n = (n.replace("embed_tokens", "token_embd").replace("layers.", "blk.")
              .replace("self_attn.q_proj", "attn_q").replace("self_attn.k_proj", "attn_k")
              .replace("self_attn.v_proj", "attn_v").replace("self_attn.o_proj", "attn_output")
              .replace("mlp.gate_proj", "ffn_gate").replace("mlp.up_proj", "ffn_up").replace("mlp.down_proj", "ffn_down")
              .replace("post_attention_layernorm", "ffn_norm").replace("input_layernorm", "attn_norm"))
        if n == "norm.weight":
            n = "output_norm.weight"
        if n == "lm_head.weight":
            n = "output.weight"
        out.append((n, a))
    return out


def write_text_gguf(path, model, kind):
    """kind: f32 | f16 | q8_0. Returns {gguf name: F32 values as stored (dequantized), HF orientation}."""
    t = model.config.text_config
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("llava-tiny")
    w.add_vocab_size(t.vocab_size)
    w.add_context_length(t.max_position_embeddings)
    w.add_embedding_length(t.hidden_size)
    w.add_block_count(t.num_hidden_layers)
    w.add_feed_forward_length(t.intermediate_size)
    w.add_head_count(t.num_attention_heads)
    w.add_head_count_kv(t.num_key_value_heads)
    w.add_rope_freq_base(float(t.rope_parameters["rope_theta"]))
    w.add_layer_norm_rms_eps(float(t.rms_norm_eps))
    w.add_rope_dimension_count(t.head_dim)
    if t.head_dim != t.hidden_size // t.num_attention_heads:
        w.add_key_length(t.head_dim)
        w.add_value_length(t.head_dim)
    w.add_file_type({"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                     "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[kind])
    w.add_tokenizer_model("llama")
    w.add_token_list([f"<t{i}>" for i in range(t.vocab_size)])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    stored = {}
    for name, a in text_gguf_tensors(model):
        if a.ndim == 1 or kind == "f32":
            w.add_tensor(name, a)
            stored[name] = a
        elif kind == "f16":
            h = a.astype(np.float16)
            w.add_tensor(name, h)
            stored[name] = h.astype(np.float32)
        else:
            q = gguf.quants.quantize(a, Q.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape[:-1] + (a.shape[-1],) if False else None, raw_dtype=Q.Q8_0)
            stored[name] = gguf.quants.dequantize(q, Q.Q8_0).reshape(a.shape).astype(np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return stored


def mmproj_name(hf):
    """convert_image_encoder_to_gguf.py's get_tensor_name, for vision_model.* and mm_projector names."""
    if "mm_projector" in hf:
        return hf.replace("model.mm_projector", "mm")
    return (hf.replace("text_model", "t").replace("vision_model", "v").replace("encoder.layers", "blk")
            .replace("embeddings.", "").replace("_proj", "").replace("self_attn.", "attn_")
            .replace("layer_norm", "ln").replace("layernorm", "ln").replace("mlp.fc1", "ffn_down")
            .replace("mlp.fc2", "ffn_up").replace("embedding", "embd").replace("final", "final").replace("ln", "ln")
            .replace("pre_layrnorm", "pre_ln"))


def write_mmproj(path, model, ftype):
    """The legacy LLaVA mmproj: the tower without its last layer and post-LN, plus mm.0/mm.2.
    Returns {hf in-memory name: F32 values as stored}."""
    c = model.config
    v = c.vision_config
    state = sd(model)
    w = gguf.GGUFWriter(path, "clip")
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_file_type(ftype)
    w.add_name("vit-tiny-llava")
    w.add_description("image encoder for LLaVA")
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", v.image_size)
    w.add_uint32("clip.vision.patch_size", v.patch_size)
    w.add_uint32("clip.vision.embedding_length", v.hidden_size)
    w.add_uint32("clip.vision.feed_forward_length", v.intermediate_size)
    w.add_uint32("clip.vision.projection_dim", v.projection_dim)
    w.add_uint32("clip.vision.attention.head_count", v.num_attention_heads)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", v.layer_norm_eps)
    w.add_uint32("clip.vision.block_count", v.num_hidden_layers - 1)
    w.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    w.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    w.add_bool("clip.use_gelu", v.hidden_act == "gelu")
    stored = {}
    last = v.num_hidden_layers - 1
    for k, t in state.items():
        if k.startswith("model.vision_tower."):
            hf = "vision_model." + k[len("model.vision_tower."):]
            if "post_layernorm" in hf or hf.startswith(f"vision_model.encoder.layers.{last}."):
                continue
        elif k.startswith("model.multi_modal_projector.linear_"):
            idx = {"1": "0", "2": "2"}[k.split("linear_")[1][0]]
            hf = f"model.mm_projector.{idx}.{k.rsplit('.', 1)[1]}"
        else:
            continue
        name = mmproj_name(hf)
        a = t.numpy().astype(np.float32)
        if a.ndim == 4:
            a = a.astype(np.float16)  # "tensor ... is always saved in f16"
        elif ftype == 1 and name.endswith(".weight") and a.ndim == 2:
            a = a.astype(np.float16)
        w.add_tensor(name, a)
        stored[k] = a.astype(np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return stored


def gguf_text_to_hf(model, stored):
    """Maps stored text GGUF tensors back to in-memory HF names (un-permuting Q/K)."""
    t = model.config.text_config
    back = {}
    for name, a in stored.items():
        n = name
        if n == "token_embd.weight":
            hf = "model.language_model.embed_tokens.weight"
        elif n == "output_norm.weight":
            hf = "model.language_model.norm.weight"
        elif n == "output.weight":
            hf = "lm_head.weight"
        else:
            _, i, rest = n.split(".", 2)
            role = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
                    "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
            r, suffix = rest.rsplit(".", 1)
            hf = f"model.language_model.layers.{i}.{role[r]}.{suffix}"
            if r == "attn_q":
                a = unpermute(a, t.num_attention_heads)
            if r == "attn_k":
                a = unpermute(a, t.num_key_value_heads)
        back[hf] = torch.from_numpy(np.ascontiguousarray(a))
    return back


# ----------------------------------------------------------------------------- rope dumps

def rope_dump():
    cases = [
        ("default", {"rope_type": "default", "rope_theta": 10000.0}, 8, 2048),
        ("default-12", {"rope_type": "default", "rope_theta": 500000.0}, 12, 2048),
        ("linear", {"rope_type": "linear", "rope_theta": 1e6, "factor": 2.0}, 16, 2048),
        ("dynamic", {"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 4.0}, 16, 4096),
        ("llama3", {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                    "high_freq_factor": 4.0, "original_max_position_embeddings": 64}, 32, 512),
        ("llama3-8192", {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}, 128, 131072),
        ("yarn", {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 2048}, 64, 8192),
        ("yarn-mscale", {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 40.0, "beta_fast": 32.0, "beta_slow": 1.0,
                         "mscale": 1.0, "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096}, 64, 163840),
        ("yarn-attn", {"rope_type": "yarn", "rope_theta": 1e6, "factor": 2.0, "attention_factor": 1.25, "beta_fast": 16.0,
                       "beta_slow": 2.0, "original_max_position_embeddings": 1024}, 16, 2048),
    ]
    out = []
    for name, params, head_dim, max_pos in cases:
        cfg = LlamaConfig(hidden_size=head_dim * 2, num_attention_heads=2, head_dim=head_dim,
                          max_position_embeddings=max_pos, rope_parameters=dict(params))
        kind = cfg.rope_parameters["rope_type"]
        if kind == "default":
            inv, factor = LlamaRotaryEmbedding.compute_default_rope_parameters(cfg)
        else:
            inv, factor = ROPE_INIT_FUNCTIONS[kind](cfg, "cpu")
        out.append({"name": name, "head_dim": head_dim, "max_position_embeddings": max_pos, "rope_parameters": params,
                    "inv_freq": [float(x) for x in inv.float().tolist()], "attention_factor": float(factor)})
    return out


# ----------------------------------------------------------------------------- main

def facts(model, input_ids, layouts, extra=None):
    c = model.config
    t, v = c.text_config, c.vision_config
    f = {
        "text": {"hidden_size": t.hidden_size, "intermediate_size": t.intermediate_size, "layers": t.num_hidden_layers,
                 "heads": t.num_attention_heads, "kv_heads": t.num_key_value_heads, "head_dim": t.head_dim,
                 "vocab_size": t.vocab_size, "rms_norm_eps": t.rms_norm_eps, "max_position_embeddings": t.max_position_embeddings,
                 "rope_parameters": t.rope_parameters, "attention_bias": t.attention_bias, "mlp_bias": t.mlp_bias,
                 "tie_word_embeddings": bool(c.tie_word_embeddings or t.tie_word_embeddings)},
        "vision": {"hidden_size": v.hidden_size, "intermediate_size": v.intermediate_size, "layers": v.num_hidden_layers,
                   "heads": v.num_attention_heads, "image_size": v.image_size, "patch_size": v.patch_size,
                   "hidden_act": v.hidden_act, "layer_norm_eps": v.layer_norm_eps},
        "image_token_index": c.image_token_index,
        "vision_feature_layer": c.vision_feature_layer,
        "vision_feature_select_strategy": c.vision_feature_select_strategy,
        "projector_hidden_act": c.projector_hidden_act,
        "image_feature_count": feature_count(c),
        "prompt_length": int(input_ids.shape[1]),
        "new_tokens": NEW_TOKENS,
        "layouts": layouts,
    }
    f.update(extra or {})
    return f


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    write_json(os.path.join(ROOT, "rope.json"), rope_dump())

    # m1 ------------------------------------------------------------------------------------------
    m1 = build(1, dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, vocab_size=320, attention_bias=True, rms_norm_eps=1e-5,
                       max_position_embeddings=256, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
               dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, image_size=28,
                    patch_size=14, hidden_act="quick_gelu", projection_dim=32),
               image_token_index=300, vision_feature_layer=-2, vision_feature_select_strategy="default")
    d = os.path.join(ROOT, "m1-gqa-bias")
    os.makedirs(d)
    ids, px = inputs_for(m1, 11)
    logits, gen = reference(m1, ids, px)
    write_expected(d, "expected.safetensors", ids, px, logits, gen)

    m1.save_pretrained(os.path.join(d, "hf-save"))
    os.remove(os.path.join(d, "hf-save", "generation_config.json"))
    check_loads(os.path.join(d, "hf-save"), logits, ids, px)
    save_hf(os.path.join(d, "hf-current"), m1, rename(sd(m1), "current"))
    check_loads(os.path.join(d, "hf-current"), logits, ids, px)
    for kind, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        folder = os.path.join(d, f"hf-current-{kind}")
        save_hf(folder, m1, {k: v.to(dtype) for k, v in rename(sd(m1), "current").items()})
        rounded = with_weights(m1, lambda _, p, dt=dtype: p.to(dt))
        lo, g = reference(rounded, ids, px)
        write_expected(d, f"expected-{kind}.safetensors", ids, px, lo, g)
        check_loads(folder, lo, ids, px, atol=1e-4)

    write_original(os.path.join(d, "original"), m1)
    clip_names = write_clip_folder(os.path.join(d, "clip-vision"), m1, True)
    write_clip_folder(os.path.join(d, "clip-vision-save524"), m1, False)

    g = os.path.join(d, "gguf")
    os.makedirs(g)
    text32 = write_text_gguf(os.path.join(g, "text-f32.gguf"), m1, "f32")
    text16 = write_text_gguf(os.path.join(g, "text-f16.gguf"), m1, "f16")
    text8 = write_text_gguf(os.path.join(g, "text-q8_0.gguf"), m1, "q8_0")
    mm32 = write_mmproj(os.path.join(g, "mmproj-f32.gguf"), m1, 0)
    mm16 = write_mmproj(os.path.join(g, "mmproj-f16.gguf"), m1, 1)
    for name, text, mm in (("gguf-f32", text32, mm32), ("gguf-f16", text16, mm16), ("gguf-q8_0", text8, mm32)):
        stored = gguf_text_to_hf(m1, text)
        stored.update({k: torch.from_numpy(np.ascontiguousarray(a)) for k, a in mm.items()})
        variant = with_weights(m1, lambda n, p, s=stored: s[n].reshape(p.shape) if n in s else p)
        lo, gn = reference(variant, ids, px)
        write_expected(d, f"expected-{name}.safetensors", ids, px, lo, gn)
    write_json(os.path.join(d, "facts.json"), facts(m1, ids, {
        "hf-save": "transformers 5.24 save_pretrained: language_model.model.*, language_model.lm_head, vision_tower.* (no vision_model), multi_modal_projector.*",
        "hf-current": "model.language_model.*, lm_head, model.vision_tower.vision_model.*, model.multi_modal_projector.* (F32)",
        "hf-current-f16": "as hf-current, F16 (expected-f16.safetensors)",
        "hf-current-bf16": "as hf-current, BF16 (expected-bf16.safetensors)",
        "original": "original LLaVA-1.5 (.bin shards + index); vision tower: clip-vision/",
        "clip-vision": "CLIP vision folder, tensors vision_model.* (hub CLIP / transformers 4.x CLIPVisionModel)",
        "clip-vision-save524": "transformers 5.24 CLIPVisionModel.save_pretrained: tensors embeddings.*, encoder.*, pre_layrnorm.*, post_layernorm.* (no prefix)",
        "gguf/text-f32.gguf + gguf/mmproj-f32.gguf": "expected-gguf-f32.safetensors",
        "gguf/text-f16.gguf + gguf/mmproj-f16.gguf": "expected-gguf-f16.safetensors",
        "gguf/text-q8_0.gguf + gguf/mmproj-f32.gguf": "expected-gguf-q8_0.safetensors",
    }, {"clip_vision_tensor_names": clip_names, "original_image_token": "none in vocab (the original code uses -200)"}))

    # m2 ------------------------------------------------------------------------------------------
    m2 = build(2, dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                       vocab_size=384, tie_word_embeddings=True, max_position_embeddings=512,
                       rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
               dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=42,
                    patch_size=14, hidden_act="gelu", projection_dim=32),
               image_token_index=383, vision_feature_layer=-1, vision_feature_select_strategy="full", tie_word_embeddings=True)
    d = os.path.join(ROOT, "m2-mha-gelu-full-tied")
    os.makedirs(d)
    ids, px = inputs_for(m2, 22)
    logits, gen = reference(m2, ids, px)
    write_expected(d, "expected.safetensors", ids, px, logits, gen)
    legacy = drop_tied(rename(sd(m2), "legacy"), m2)
    for kind in ("safetensors", "bin"):
        folder = os.path.join(d, f"hf-legacy-{kind}")
        save_sharded(folder, legacy, kind)
        write_json(os.path.join(folder, "config.json"), hf_config(m2))
        check_loads(folder, logits, ids, px)
    write_json(os.path.join(d, "facts.json"), facts(m2, ids, {
        "hf-legacy-safetensors": "language_model.model.*, vision_tower.vision_model.*, multi_modal_projector.* (no lm_head: tied), 2 shards + index",
        "hf-legacy-bin": "the same as torch.save shards + pytorch_model.bin.index.json",
    }))

    # m3 ------------------------------------------------------------------------------------------
    m3 = build(3, dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=1, head_dim=16, vocab_size=300,
                       rope_parameters={"rope_type": "linear", "rope_theta": 1e6, "factor": 2.0}),
               dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=28,
                    patch_size=14, projection_dim=32),
               image_token_index=299, vision_feature_layer=[-2, -1], vision_feature_select_strategy="default")
    d = os.path.join(ROOT, "m3-featlist-headdim")
    os.makedirs(d)
    ids, px = inputs_for(m3, 33)
    logits, gen = reference(m3, ids, px)
    write_expected(d, "expected.safetensors", ids, px, logits, gen)
    config = hf_config(m3)
    tc = config["text_config"]
    del tc["rope_parameters"]
    tc["rope_theta"] = 1000000.0
    tc["rope_scaling"] = {"type": "linear", "factor": 2.0}
    save_hf(os.path.join(d, "hf-inmemory"), m3, sd(m3), config)
    check_loads(os.path.join(d, "hf-inmemory"), logits, ids, px)
    write_json(os.path.join(d, "facts.json"), facts(m3, ids, {
        "hf-inmemory": "transformers 5.24 in-memory names: model.language_model.*, lm_head, model.vision_tower.* (no vision_model), model.multi_modal_projector.*; config uses rope_theta + rope_scaling {type: linear}",
    }))

    # m4 ------------------------------------------------------------------------------------------
    m4 = build(4, dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=320),
               dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=28,
                    patch_size=14, projection_dim=32),
               image_token_index=300)
    d = os.path.join(ROOT, "m4-defaults")
    os.makedirs(d)
    ids, px = inputs_for(m4, 44)
    logits, gen = reference(m4, ids, px)
    write_expected(d, "expected.safetensors", ids, px, logits, gen)
    minimal = {
        "architectures": ["LlavaForConditionalGeneration"],
        "ignore_index": -100,
        "image_token_index": 300,
        "model_type": "llava",
        "pad_token_id": 301,
        "text_config": {"_name_or_path": "lmsys/vicuna-7b-v1.5", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
                        "intermediate_size": 64, "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2,
                        "torch_dtype": "float32", "vocab_size": 320},
        "torch_dtype": "float32",
        "transformers_version": "4.36.0.dev0",
        "vision_config": {"hidden_size": 32, "image_size": 28, "intermediate_size": 64, "model_type": "clip_vision_model",
                          "num_attention_heads": 4, "num_hidden_layers": 2, "patch_size": 14, "projection_dim": 32,
                          "vocab_size": 32000},
        "vocab_size": 320,
    }
    save_hf(os.path.join(d, "hf-legacy"), m4, rename(sd(m4), "legacy"), minimal)
    check_loads(os.path.join(d, "hf-legacy"), logits, ids, px)
    write_json(os.path.join(d, "facts.json"), facts(m4, ids, {
        "hf-legacy": "legacy llava-hf names, one model.safetensors, config.json omitting every defaulted field",
    }))

    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(ROOT) for f in fs)
    print(f"wrote {ROOT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
