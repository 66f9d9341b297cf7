#!/usr/bin/env python3
"""LLaVA-NeXT and LLaVA-OneVision in their original releases' layouts (liuhaotian/llava-v1.6-*, lmms-lab/llava-onevision-*),
made from the tiny llava-hf models of make_llava_next_fixtures.py and make_llava_onevision_fixtures.py:
Tests/Fixtures/llava-next/{tiny-llava-next-original,clip-vision}/ and Tests/Fixtures/llava-onevision/{tiny-llava-onevision-lmms,siglip-vision}/.

The tensor names are the inverse of transformers' convert_llava_next_weights_to_hf.py and
convert_llava_onevision_weights_to_hf.py (the same KEYS_TO_MODIFY_MAPPING, applied in order by convert_state_dict_to_hf;
reproduced below as ORIGINAL_TO_HF): `model.embed_tokens`, `model.layers.*`, `model.norm`, `lm_head` (absent when tied),
`model.mm_projector.0/2`, `model.image_newline`, and the fine-tuned tower inside the checkpoint under
`model.vision_tower.vision_tower.vision_model.*`. config.json is the original one: NeXT's LlavaLlamaForCausalLM (LLaMA
fields at the top level, `image_aspect_ratio` anyres; also the Mistral model as LlavaMistralForCausalLM, `model_type`
llava_mistral with its `sliding_window`, checked against mistral-wide) or OneVision's LlavaQwenForCausalLM (Qwen2 fields at the top level,
`image_aspect_ratio` anyres_max_9), both with `mm_vision_tower`, `mm_projector_type` mlp2x_gelu, `mm_vision_select_layer`
-2, `mm_vision_select_feature` patch, `mm_hidden_size`, `image_grid_pinpoints`, `mm_patch_merge_type` spatial_unpad; the
tokenizer files are the llava-hf model's. The tower folder is what `mm_vision_tower` names: its config.json and
preprocessor_config.json (the llava-hf processor's image settings), without weights (the checkpoint has them). For
OneVision it is a whole SigLIP model's config (`model_type` siglip, the tower under vision_config) with one layer more than
the checkpoint holds, as google/siglip-so400m-patch14-384 has 27 layers and lmms-lab's tower 26 (LLaVA's SigLIP tower drops
the last layer and takes the last hidden state: transformers' vision_feature_layer -1 of the 26).

Check: the original names mapped back by ORIGINAL_TO_HF are the llava-hf checkpoint's (legacy names) tensor for tensor;
loaded by transformers 5.24 (eager) with no missing or unexpected keys, their logits for the fixture's wide image equal the
llava-hf fixture's exactly, so the llava-hf fixtures are these layouts' references too.
Run: /work/main/.venv/bin/python tools/make_llava_original_release_fixtures.py
"""
import json
import os
import shutil

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import LlavaNextForConditionalGeneration, LlavaOnevisionForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures")
torch.set_grad_enabled(False)

# convert_llava_next_weights_to_hf.py's KEYS_TO_MODIFY_MAPPING, in its order.
ORIGINAL_TO_HF = [
    ("model.vision_tower.", ""),
    ("model.mm_projector", "multi_modal_projector"),
    ("model", "model.model"),
    ("vision_model.model", "vision_model"),
    ("lm_head", "language_model.lm_head"),
    ("model.model", "language_model.model"),
    ("multi_modal_projector.0", "multi_modal_projector.linear_1"),
    ("multi_modal_projector.2", "multi_modal_projector.linear_2"),
    ("language_model.model.image_newline", "image_newline"),
]


def to_hf(name):
    for old, new in ORIGINAL_TO_HF:
        if old in name:
            name = name.replace(old, new)
    return name


def to_original(name):
    """llava-hf (legacy names, as the tiny model's model.safetensors holds them) to the original release."""
    if name.startswith("language_model.model."):
        return "model." + name[len("language_model.model."):]
    if name == "language_model.lm_head.weight":
        return "lm_head.weight"
    if name == "image_newline":
        return "model.image_newline"
    if name.startswith("multi_modal_projector.linear_"):
        return name.replace("multi_modal_projector.linear_1", "model.mm_projector.0").replace("multi_modal_projector.linear_2", "model.mm_projector.2")
    if name.startswith("vision_tower."):
        return "model.vision_tower.vision_tower.vision_model." + name[len("vision_tower."):]
    raise ValueError(name)


def make(folder, hf_name, out_name, tower_name, model_class, original_head, tower_config, image_processor_type, reference="wide"):
    """Writes the original-layout model and its tower folder, checks them against transformers."""
    model_dir = os.path.join(folder, hf_name)
    out, tower = os.path.join(folder, out_name), os.path.join(folder, tower_name)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(tower, ignore_errors=True)
    os.makedirs(out)
    os.makedirs(tower)
    with safe_open(os.path.join(model_dir, "model.safetensors"), "pt") as f:
        hf = {k: f.get_tensor(k) for k in f.keys()}
    original = {to_original(k): v.contiguous() for k, v in hf.items()}
    save_file(original, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    config = json.load(open(os.path.join(model_dir, "config.json")))
    text, vision = config["text_config"], config["vision_config"]
    original_config = dict(
        original_head,
        **{k: text[k] for k in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                                "vocab_size", "max_position_embeddings", "rms_norm_eps", "bos_token_id", "eos_token_id", "pad_token_id",
                                "hidden_act", "tie_word_embeddings", "sliding_window"] if k in text},
        rope_theta=text["rope_parameters"]["rope_theta"], mm_vision_tower=tower_name, mm_projector_type="mlp2x_gelu",
        mm_hidden_size=vision["hidden_size"], mm_vision_select_layer=-2, mm_vision_select_feature="patch", mm_use_im_start_end=False,
        mm_use_im_patch_token=False, image_grid_pinpoints=config["image_grid_pinpoints"], mm_patch_merge_type="spatial_unpad")
    json.dump(original_config, open(os.path.join(out, "config.json"), "w"), indent=1)
    for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]:
        shutil.copyfile(os.path.join(model_dir, name), os.path.join(out, name))
    json.dump(tower_config(vision), open(os.path.join(tower, "config.json"), "w"), indent=1)
    image = json.load(open(os.path.join(model_dir, "processor_config.json")))["image_processor"]
    image = {k: v for k, v in image.items() if k not in ("image_grid_pinpoints", "do_pad")}
    json.dump(dict(image, image_processor_type=image_processor_type), open(os.path.join(tower, "preprocessor_config.json"), "w"), indent=1)

    # The original names, mapped back as transformers' converter does, are the llava-hf model.
    # (transformers 5 saved the tower without `vision_model.`; the converter writes the long-standing names.)
    back = {to_hf(k): v for k, v in original.items()}
    legacy = {k.replace("vision_tower.", "vision_tower.vision_model.", 1): v for k, v in hf.items()}
    assert set(back) == set(legacy) and all(torch.equal(back[k], legacy[k]) for k in back), set(back) ^ set(legacy)
    with safe_open(os.path.join(folder, "wide.safetensors"), "pt") as f:
        inputs = {"pixel_values": f.get_tensor("pixel_values")[None], "image_sizes": f.get_tensor("image_sizes")[None]}
    with safe_open(os.path.join(folder, reference + ".safetensors"), "pt") as f:
        inputs["input_ids"] = f.get_tensor("input_ids")[None]
        expected = f.get_tensor("logits")
    work = os.path.join(folder, "converted.tmp")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(model_dir, work)
    save_file(back, os.path.join(work, "model.safetensors"), metadata={"format": "pt"})
    converted, info = model_class.from_pretrained(work, attn_implementation="eager", output_loading_info=True)
    shutil.rmtree(work)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    logits = converted.eval()(**inputs).logits[0]
    assert torch.equal(logits, expected[:logits.shape[0]]), float((logits - expected[:logits.shape[0]]).abs().max())
    print(f"wrote {out} and {tower}")


def main():
    make(os.path.join(FIXTURES, "llava-next"), "tiny-llava-next-hf", "tiny-llava-next-original", "clip-vision",
         LlavaNextForConditionalGeneration, {"architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava_llama", "image_aspect_ratio": "anyres"},
         lambda vision: dict(vision, architectures=["CLIPVisionModel"]), "CLIPImageProcessor")
    make(os.path.join(FIXTURES, "llava-next"), "tiny-llava-next-mistral-hf", "tiny-llava-next-mistral-original", "clip-vision",
         LlavaNextForConditionalGeneration,
         {"architectures": ["LlavaMistralForCausalLM"], "model_type": "llava_mistral", "image_aspect_ratio": "anyres"},
         lambda vision: dict(vision, architectures=["CLIPVisionModel"]), "CLIPImageProcessor", reference="mistral-wide")
    make(os.path.join(FIXTURES, "llava-onevision"), "tiny-llava-onevision-hf", "tiny-llava-onevision-lmms", "siglip-vision",
         LlavaOnevisionForConditionalGeneration,
         {"architectures": ["LlavaQwenForCausalLM"], "model_type": "llava", "image_aspect_ratio": "anyres_max_9", "use_sliding_window": False},
         lambda vision: {"architectures": ["SiglipModel"], "model_type": "siglip",
                         "vision_config": dict(vision, num_hidden_layers=vision["num_hidden_layers"] + 1)},
         "SiglipImageProcessor")


if __name__ == "__main__":
    main()
