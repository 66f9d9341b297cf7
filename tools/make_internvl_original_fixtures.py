#!/usr/bin/env python3
"""Writes Tests/Fixtures/internvl/<model>/original/: the tiny `-hf` InternVL models of
tools/make_internvl_fixtures.py written back in the original release layout (InternVLChatModel, as
the OpenGVLab/InternVL2_5-* and InternVL3-* repositories hold it), and, for `internvl`, what
llama.cpp's converter writes from that folder (`gguf/`) with transformers' references for it.

Run after tools/make_internvl_fixtures.py:
    /work/main/.venv/bin/python tools/make_internvl_original_fixtures.py [LLAMA_CPP_SOURCE]

The naming is the inverse of transformers' conversion script
(src/transformers/models/internvl/convert_internvl_weights_to_hf.py, as of transformers 5.24;
the script is not in the wheel): its ORIGINAL_TO_CONVERTED_KEY_MAPPING_VISION and _MULTI regexes
applied in order, `attn.qkv` split into q/k/v thirds; the Qwen2 decoder's names are unchanged
(`language_model.model.*`, `language_model.lm_head`). The script below renames forward with those
regexes and checks that every original name maps back to the `-hf` tensor it came from, with the
same values. Config: `InternVLChatConfig` with `vision_config` (InternVisionConfig keys: qkv_bias,
qk_normalization, int image_size/patch_size; architectures ["InternVisionModel"]), `llm_config`
(Qwen2Config, architectures ["Qwen2ForCausalLM"], rope_theta), downsample_ratio, template,
force_image_size, select_layer, ps_version, dynamic_image_size, use_thumbnail,
min/max_dynamic_patch. The tokenizer is the `-hf` one (tokenizer.json) with a tokenizer_config.json
of the release repositories' form (added_tokens_decoder naming `<img>`, `</img>`, `<IMG_CONTEXT>`,
the chat template); preprocessor_config.json is the repositories' CLIP-style one (mean/std); the
tiling comes from config.json as the release's `dynamic_preprocess` does.

llama.cpp (the pinned llama-cpp-python 0.3.36 sdist's vendored tree, its own gguf-py):
convert_hf_to_gguf.py on `internvl/original` writes `gguf/text-f32.gguf` (architecture qwen2; the
BPE pre-tokenizer hash of the tiny tokenizer is unknown to llama.cpp, so it is named `qwen2`, as the
tokenizer's split regex is Qwen2's) and with --mmproj `gguf/mmproj-f32.gguf` (projector internvl; its
name map reaches `mlp1.{bid}` only below the tower's block count, so it is built for at least 4
blocks: the tiny tower has 2). The `-hf` folder does not convert to an mmproj at this version: InternVisionModel.filter_tensors
keeps only `vision_model.*`, `mlp*`, `model.vision_tower.*`, `model.multi_modal_projector.*`, and
transformers 5 saves `vision_tower.*` / `multi_modal_projector.*` (0 tensors written).
`gguf/expected-text.safetensors`: Qwen2ForCausalLM (transformers 5.24, eager, float32) with the
text weights on a text-only prompt: input_ids I64 [seq], logits F32 [seq + 4, vocab] (prompt rows,
then one per decode step), generated I64 [5] (greedy).
`gguf/converter-sha256.json`: the SHA-256 of the converter's pair at f32, f16, bf16 and q8_0 (only the
f32 files are committed), which `eah-convert convert --to gguf` must reproduce byte for byte.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "Tests", "Fixtures", "internvl")
LLAMA = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/eah/llama-cpp-python-0.3.36/vendor/llama.cpp")
torch.set_grad_enabled(False)

# transformers' convert_internvl_weights_to_hf.py, original -> hf, applied in order.
VISION = [(r"vision_model", r"vision_tower"), (r"layers", r"layer"), (r"class_embedding", r"cls_token"),
          (r"position_embedding", r"position_embeddings"), (r"patch_embedding", r"patch_embeddings.projection"),
          (r"ls(\d+)", r"lambda_\1"), (r"attn.proj", r"attention.projection_layer"), (r"attn.dropout", r"attention.projection_dropout"),
          (r"attn", r"attention"), (r"norm1", r"layernorm_before"), (r"norm2", r"layernorm_after")]
MULTI = [(r"mlp1.0", r"multi_modal_projector.layer_norm"), (r"mlp1.1", r"multi_modal_projector.linear_1"),
         (r"mlp1.3", r"multi_modal_projector.linear_2")]


def forward_name(name):
    """The conversion script's rename of one original name."""
    table = VISION if name.startswith("vision_model") else [] if name.startswith("language_model") else MULTI
    for pattern, replacement in table:
        name = re.sub(pattern, replacement, name)
    return name


def original_state(hf):
    """The original names of an -hf state dict (q/k/v fused back into attn.qkv)."""
    out = {}
    for name, tensor in hf.items():
        if name.startswith("language_model."):
            out[name] = tensor
            continue
        new = name
        if name.startswith("multi_modal_projector."):
            new = (name.replace("multi_modal_projector.layer_norm", "mlp1.0").replace("multi_modal_projector.linear_1", "mlp1.1")
                   .replace("multi_modal_projector.linear_2", "mlp1.3"))
        else:
            new = (name.replace("vision_tower.", "vision_model.").replace("encoder.layer.", "encoder.layers.")
                   .replace("embeddings.cls_token", "embeddings.class_embedding")
                   .replace("embeddings.position_embeddings", "embeddings.position_embedding")
                   .replace("embeddings.patch_embeddings.projection", "embeddings.patch_embedding")
                   .replace("attention.projection_layer", "attn.proj").replace("attention.", "attn.")
                   .replace("layernorm_before", "norm1").replace("layernorm_after", "norm2"))
            new = re.sub(r"lambda_(\d+)", r"ls\1", new)
            if ".attn.q_proj." in new:
                parts = [hf[name.replace("q_proj", p)] for p in ("q_proj", "k_proj", "v_proj")]
                out[new.replace("q_proj", "qkv")] = torch.cat(parts, 0).contiguous()
                continue
            if ".attn.k_proj." in new or ".attn.v_proj." in new:
                continue
        out[new] = tensor
    # The check: the conversion script's own renames and split give back the -hf tensors.
    back = {}
    dim = hf["vision_tower.embeddings.cls_token"].shape[-1]
    for name, tensor in out.items():
        new = forward_name(name)
        if "attn.qkv" in name:
            for i, p in enumerate(("q_proj", "k_proj", "v_proj")):
                back[new.replace("attention.qkv", "attention." + p)] = tensor[i * dim:(i + 1) * dim]
        else:
            back[new] = tensor
    assert sorted(back) == sorted(hf), (sorted(set(back) ^ set(hf)))
    assert all(torch.equal(back[k], hf[k]) for k in hf)
    return out


def original_config(hf):
    v, t = hf["vision_config"], dict(hf["text_config"])
    vision = {
        "architectures": ["InternVisionModel"], "model_type": "intern_vit_6b", "hidden_size": v["hidden_size"],
        "intermediate_size": v["intermediate_size"], "num_hidden_layers": v["num_hidden_layers"],
        "num_attention_heads": v["num_attention_heads"], "num_channels": v["num_channels"], "image_size": v["image_size"][0],
        "patch_size": v["patch_size"][0], "qkv_bias": v["attention_bias"], "qk_normalization": v["use_qk_norm"],
        "norm_type": v["norm_type"], "layer_norm_eps": v["layer_norm_eps"], "hidden_act": v["hidden_act"],
        "initializer_factor": 0.1, "drop_path_rate": 0.0, "dropout": 0.0, "attention_dropout": 0.0, "use_flash_attn": False}
    rope = t.pop("rope_parameters")
    llm = {k: t[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads",
                             "num_hidden_layers", "rms_norm_eps", "max_position_embeddings", "hidden_act", "tie_word_embeddings",
                             "bos_token_id", "eos_token_id", "pad_token_id", "sliding_window", "use_sliding_window", "max_window_layers")}
    llm.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", rope_theta=rope["rope_theta"], rope_scaling=None,
               attention_dropout=0.0, use_cache=True, torch_dtype="float32")
    return {
        "architectures": ["InternVLChatModel"], "model_type": "internvl_chat",
        "auto_map": {"AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
                     "AutoModel": "modeling_internvl_chat.InternVLChatModel",
                     "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel"},
        "vision_config": vision, "llm_config": llm, "downsample_ratio": hf["downsample_ratio"], "template": "internvl2_5",
        "force_image_size": v["image_size"][0], "select_layer": -1, "ps_version": "v2", "dynamic_image_size": True,
        "use_thumbnail": True, "min_dynamic_patch": 1, "max_dynamic_patch": 12, "use_backbone_lora": 0, "use_llm_lora": 0,
        "tie_word_embeddings": hf["tie_word_embeddings"], "torch_dtype": "float32"}


def write_original(kind):
    src = os.path.join(ROOT, kind, "hf-save")
    out = os.path.join(ROOT, kind, "original")
    os.makedirs(out, exist_ok=True)
    with safe_open(os.path.join(src, "model.safetensors"), "pt") as f:
        hf = {k: f.get_tensor(k) for k in f.keys()}
    save_file(original_state(hf), os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(src, "config.json")) as f:
        config = original_config(json.load(f))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    shutil.copy(os.path.join(src, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    with open(os.path.join(src, "chat_template.jinja")) as f:
        template = f.read()
    tok = AutoTokenizer.from_pretrained(src)
    decoder = {str(tok.convert_tokens_to_ids(s)): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                                   "single_word": False, "special": True}
               for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>"]}
    tokenizer_config = {"added_tokens_decoder": decoder, "additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>"],
                        "bos_token": None, "chat_template": template, "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>",
                        "model_max_length": 8192, "pad_token": "<|endoftext|>", "tokenizer_class": "Qwen2Tokenizer"}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        size = config["force_image_size"]
        json.dump({"crop_size": size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                   "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
                   "image_std": [0.229, 0.224, 0.225], "resample": 3, "size": size}, f, indent=2)
        f.write("\n")
    print(f"{kind}: original layout, {len(hf)} -hf tensors checked against the conversion script's renames")
    return out


GGUF_WRAPPER = """
import os, sys
root = sys.argv[1]
sys.path.insert(0, root)
sys.path.insert(0, os.path.join(root, "gguf-py"))
import convert_hf_to_gguf as conv
from conversion import base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
# The mmproj's name map covers `mlp1.{bid}` only for bid < the tower's block count; the tiny tower
# has 2 blocks (real ones 24 or 45), so the map is built for at least 4 to reach mlp1.3.
import gguf
name_map = gguf.get_tensor_name_map
base.gguf.get_tensor_name_map = lambda arch, n_blocks: name_map(arch, max(n_blocks, 4))
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
conv.main()
"""


def write_gguf(folder, out):
    """The F32 pair (committed), and the SHA-256 of the pair at f16, bf16 and q8_0 (converter-sha256.json)."""
    import hashlib
    assert os.path.exists(os.path.join(LLAMA, "convert_hf_to_gguf.py")), f"no llama.cpp converter under {LLAMA} (run tools/llama-cpp.sh)"
    os.makedirs(out, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(GGUF_WRAPPER)
    work = tempfile.mkdtemp(prefix="internvl-gguf-")
    digests = {}
    try:
        for outtype in ("f32", "f16", "bf16", "q8_0"):
            for kind, extra in (("text", []), ("mmproj", ["--mmproj"])):
                name = f"{kind}-{outtype}.gguf"
                path = os.path.join(out if outtype == "f32" else work, name)
                subprocess.run([sys.executable, f.name, LLAMA, folder, "--outfile", path, "--outtype", outtype] + extra,
                               check=True, capture_output=True)
                with open(path, "rb") as g:
                    digests[name] = hashlib.sha256(g.read()).hexdigest()
    finally:
        os.unlink(f.name)
        shutil.rmtree(work)
    with open(os.path.join(out, "converter-sha256.json"), "w") as g:
        json.dump(digests, g, indent=1, sort_keys=True)
        g.write("\n")


def text_reference(kind, out):
    """Qwen2ForCausalLM with the model's text weights on a text-only ChatML prompt."""
    src = os.path.join(ROOT, kind, "hf-save")
    with open(os.path.join(src, "config.json")) as f:
        text = json.load(f)["text_config"]
    config = Qwen2Config(**{k: v for k, v in text.items() if k not in ("architectures", "model_type")})
    model = Qwen2ForCausalLM(config).eval().float()
    with safe_open(os.path.join(src, "model.safetensors"), "pt") as f:
        state = {k[len("language_model."):]: f.get_tensor(k) for k in f.keys() if k.startswith("language_model.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    model.tie_weights()
    model.config._attn_implementation = "eager"
    tok = AutoTokenizer.from_pretrained(src)
    prompt = "<|im_start|>user\nCount the dogs, please!<|im_end|>\n<|im_start|>assistant\n"
    ids = torch.tensor([tok(prompt)["input_ids"]])
    logits = model(input_ids=ids).logits[0]
    gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=5, min_new_tokens=5,
                         output_logits=True, return_dict_in_generate=True, eos_token_id=None, pad_token_id=0)
    steps = torch.stack([l[0] for l in gen.logits])
    assert torch.allclose(steps[0], logits[-1], atol=1e-4)
    generated = gen.sequences[0, ids.shape[1]:].to(torch.long)
    save_file({"input_ids": ids[0].to(torch.long).contiguous(), "logits": torch.cat([logits, steps[1:]], 0).float().contiguous(),
               "generated": generated}, os.path.join(out, "expected-text.safetensors"))
    print(f"{kind}: text-only prompt of {ids.shape[1]} tokens, generated {generated.tolist()}")


def main():
    for kind in ("internvl", "internvl-rms"):
        folder = write_original(kind)
        if kind == "internvl":
            gguf = os.path.join(ROOT, kind, "gguf")
            write_gguf(folder, gguf)
            text_reference(kind, gguf)


if __name__ == "__main__":
    main()
