#!/usr/bin/env python3
"""LLaVA-NeXT in the original release's layout (liuhaotian/llava-v1.6-*), made from the tiny llava-hf model of
make_llava_next_fixtures.py (Tests/Fixtures/llava-next/tiny-llava-next-original/ and clip-vision/).

The tensor names are the inverse of transformers' convert_llava_next_weights_to_hf.py (KEYS_TO_MODIFY_MAPPING,
applied in order by convert_state_dict_to_hf; reproduced below as ORIGINAL_TO_HF): `model.embed_tokens`,
`model.layers.*`, `model.norm`, `lm_head`, `model.mm_projector.0/2`, `model.image_newline`, and the fine-tuned
tower inside the checkpoint under `model.vision_tower.vision_tower.vision_model.*`. config.json is the original
LlavaLlamaForCausalLM one (`model_type` llava_llama, LLaMA fields at the top level, `mm_vision_tower`,
`mm_projector_type` mlp2x_gelu, `mm_vision_select_layer` -2, `mm_vision_select_feature` patch, `mm_hidden_size`,
`image_aspect_ratio` anyres, `image_grid_pinpoints`, `mm_patch_merge_type` spatial_unpad); the tokenizer files
are the llava-hf model's. clip-vision/ is what `mm_vision_tower` names: the CLIP tower's config.json and
preprocessor_config.json (the llava-hf processor's image settings), without weights (the checkpoint has them).

Check: the original names mapped back by ORIGINAL_TO_HF load into transformers 5.24's
LlavaNextForConditionalGeneration (eager) with no missing or unexpected keys, and its logits for the llava-next
fixture's wide image equal the llava-hf fixture's exactly, so the llava-next fixtures are this layout's reference too.
Run: /work/main/.venv/bin/python tools/make_llava_next_original_fixtures.py
"""
import json
import os
import shutil

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import LlavaNextForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT = os.path.join(HERE, "..", "Tests", "Fixtures", "llava-next")
MODEL = os.path.join(NEXT, "tiny-llava-next-hf")
OUT = os.path.join(NEXT, "tiny-llava-next-original")
TOWER = os.path.join(NEXT, "clip-vision")
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


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.rmtree(TOWER, ignore_errors=True)
    os.makedirs(OUT)
    os.makedirs(TOWER)
    with safe_open(os.path.join(MODEL, "model.safetensors"), "pt") as f:
        hf = {k: f.get_tensor(k) for k in f.keys()}
    original = {to_original(k): v.contiguous() for k, v in hf.items()}
    save_file(original, os.path.join(OUT, "model.safetensors"), metadata={"format": "pt"})
    config = json.load(open(os.path.join(MODEL, "config.json")))
    text, vision = config["text_config"], config["vision_config"]
    original_config = {
        "architectures": ["LlavaLlamaForCausalLM"], "model_type": "llava_llama",
        **{k: text[k] for k in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                                "vocab_size", "max_position_embeddings", "rms_norm_eps", "bos_token_id", "eos_token_id", "pad_token_id",
                                "hidden_act", "tie_word_embeddings"]},
        "rope_theta": text["rope_parameters"]["rope_theta"],
        "mm_vision_tower": "clip-vision", "mm_projector_type": "mlp2x_gelu", "mm_hidden_size": vision["hidden_size"],
        "mm_vision_select_layer": config["vision_feature_layer"], "mm_vision_select_feature": "patch",
        "mm_use_im_start_end": False, "mm_use_im_patch_token": False, "image_aspect_ratio": "anyres",
        "image_grid_pinpoints": config["image_grid_pinpoints"], "mm_patch_merge_type": "spatial_unpad",
    }
    json.dump(original_config, open(os.path.join(OUT, "config.json"), "w"), indent=1)
    for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]:
        shutil.copyfile(os.path.join(MODEL, name), os.path.join(OUT, name))
    json.dump(dict(vision, architectures=["CLIPVisionModel"]), open(os.path.join(TOWER, "config.json"), "w"), indent=1)
    image = json.load(open(os.path.join(MODEL, "processor_config.json")))["image_processor"]
    image = {k: v for k, v in image.items() if k not in ("image_grid_pinpoints", "do_pad")}
    json.dump(dict(image, image_processor_type="CLIPImageProcessor"), open(os.path.join(TOWER, "preprocessor_config.json"), "w"), indent=1)

    # The original names, mapped back as transformers' converter does, are the llava-hf model.
    # (transformers 5 saved the tower without `vision_model.`; the converter writes the long-standing names.)
    back = {to_hf(k): v for k, v in original.items()}
    legacy = {k.replace("vision_tower.", "vision_tower.vision_model.", 1): v for k, v in hf.items()}
    assert set(back) == set(legacy) and all(torch.equal(back[k], legacy[k]) for k in back), set(back) ^ set(legacy)
    with safe_open(os.path.join(NEXT, "wide.safetensors"), "pt") as f:
        inputs = {"input_ids": f.get_tensor("input_ids")[None], "pixel_values": f.get_tensor("pixel_values")[None],
                  "image_sizes": f.get_tensor("image_sizes")[None]}
        expected = f.get_tensor("logits")
    work = os.path.join(OUT, "..", "converted.tmp")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(MODEL, work)
    save_file(back, os.path.join(work, "model.safetensors"), metadata={"format": "pt"})
    converted, info = LlavaNextForConditionalGeneration.from_pretrained(work, attn_implementation="eager", output_loading_info=True)
    shutil.rmtree(work)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    converted.eval()
    logits = converted(**inputs).logits[0]
    assert torch.equal(logits, expected[:logits.shape[0]]), float((logits - expected[:logits.shape[0]]).abs().max())
    print(f"wrote {OUT} and {TOWER}")


if __name__ == "__main__":
    main()
