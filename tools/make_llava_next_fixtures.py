#!/usr/bin/env python3
"""LLaVA-NeXT fixtures (Tests/Fixtures/llava-next/), made by transformers 5.24 (float32, eager).

tiny-llava-next-hf/  a tiny random LlavaNextForConditionalGeneration (LLaMA text: hidden 32, 2 layers,
                     4 heads / 2 kv heads; CLIP tower: 42 px tiles, patch 14, so 3x3 features per tile,
                     3 layers; image_grid_pinpoints [[42,84],[84,42],[84,84]]) saved by save_pretrained
                     with its LlavaNextProcessor (LlavaNextImageProcessorPil, the tokenizer of
                     Tests/Fixtures/tokenizer with `<image>` = 1500, the llava-1.5-hf chat template).
<image>.png          test images: wide, tall, tiny and larger than every pinpoint.
<image>.safetensors  for the question QUESTION about the image:
                     pixel_values F32 [tiles, 3, 42, 42] and image_sizes I64 [2] (the processor's),
                     input_ids I64 [seq] (the processor's, with one `<image>` per image feature),
                     logits F32 [seq + 4, vocab]: prompt rows, then a row per greedy decode step
                     (generate(do_sample=False, max_new_tokens=5, eos_token_id=None)), generated I64 [5];
                     for the EAH_IMAGES only: eah_dynamic_logits / eah_dynamic_generated: the PyTorch
                     EAH reference of tools/make_eah_fixtures.py, dynamic selection at layer 1 (prefill;
                     beta per image, the middle of the widest gap between the layer's column means, so
                     the counts are far from flipping: `beta_margin` in expected.json);
                     eah_static_logits / eah_static_generated: static head STATIC_HEAD at layer 1
                     (prefill and decode: what a baked bundle computes);
                     eah_sink_counts I64 [heads] and eah_chosen_head I64 [1] of the dynamic run
                     (expected.json splits the counts by the kind of the sink column).
tiny-llava-next-mistral-hf/, mistral-wide.safetensors
                     the same model with a Mistral decoder (sliding_window 8, so the window hides keys in
                     the prompt) and the wide image: input_ids, logits (prompt and decode rows), generated.
expected.json        per image: name, size, tile count, image token count, the kinds of the image
                     positions as transformers packs them (base tile, unpadded tile rows each ended by a
                     newline), and the EAH parameters.
Run: /work/main/.venv/bin/python tools/make_llava_next_fixtures.py
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import (CLIPVisionConfig, LlamaConfig, LlavaNextConfig, MistralConfig, LlavaNextForConditionalGeneration,
                          LlavaNextProcessor, PreTrainedTokenizerFast)
from transformers.image_processing_utils import select_best_resolution
from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_eah_fixtures as eah  # noqa: E402  (registers the "eah_reference" attention)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "llava-next")
MODEL = os.path.join(OUT, "tiny-llava-next-hf")
TEMPLATE = open(os.path.join(FIXTURES, "templates", "llava_15_hf.jinja")).read()
QUESTION = "What is in the picture?"
TILE, PATCH = 42, 14
PINPOINTS = [[TILE, 2 * TILE], [2 * TILE, TILE], [2 * TILE, 2 * TILE]]
NEW_TOKENS = 5
STATIC_HEAD, LAYER = 2, 1
EAH_IMAGES = ["wide", "large"]
IMAGES = {"wide": (97, 31), "tall": (29, 80), "tiny": (9, 7), "large": (200, 150)}  # (width, height)
torch.set_grad_enabled(False)


def make_image(name, width, height):
    rng = np.random.default_rng(len(name) * 1000 + width)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) * 127 // max(1, width + height - 2)], -1)
    noise = rng.integers(0, 64, size=(height, width, 3))
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    path = os.path.join(OUT, name + ".png")
    Image.fromarray(pixels, "RGB").save(path)
    return path


def kinds(height, width):
    """The kinds of the image positions as pack_image_features lays them out (base first)."""
    grid = TILE // PATCH
    best_h, best_w = select_best_resolution([height, width], PINPOINTS)
    rows, cols = grid * (best_h // TILE), grid * (best_w // TILE)
    if width / height > cols / rows:
        new_height = int(round(height * (cols / width), 7))
        rows -= 2 * ((rows - new_height) // 2)
    else:
        new_width = int(round(width * (rows / height), 7))
        cols -= 2 * ((cols - new_width) // 2)
    return ["base"] * grid * grid + (["tile"] * cols + ["newline"]) * rows


def run(model, inputs):
    prompt = model(**inputs).logits[0]
    out = model.generate(**inputs, do_sample=False, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                         output_logits=True, return_dict_in_generate=True, pad_token_id=0, eos_token_id=None)
    generated = out.sequences[0, inputs["input_ids"].shape[1]:].to(torch.long)
    steps = torch.stack([l[0] for l in out.logits])
    assert torch.allclose(steps[0], prompt[-1], atol=1e-5)
    return torch.cat([prompt, steps[1:]], 0).float().contiguous(), generated


def widest_gap_beta(reference, inputs, positions):
    """The middle of the widest gap between consecutive column means (all heads) at LAYER, among
    the middle 80% of them."""
    eah.EAH.configure(layers=[LAYER], selection="count", beta=1.0)
    eah.EAH.image_positions = positions
    reference(**inputs)
    means = eah.EAH.column_means[LAYER].flatten()
    means = sorted(float(x) for x in means[~torch.isnan(means)])
    low, high = len(means) // 10, len(means) - len(means) // 10
    gap, index = max((means[i + 1] - means[i], i) for i in range(low, high - 1))
    return round((means[index] + means[index + 1]) / 2, 6)


def main():
    torch.manual_seed(9)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(MODEL)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(FIXTURES, "tokenizer", "tokenizer.json"),
                                        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    text = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       vocab_size=1503, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=1501)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                              image_size=TILE, patch_size=PATCH)
    config = LlavaNextConfig(text_config=text, vision_config=vision, image_token_index=image_token, vision_feature_layer=-2,
                             vision_feature_select_strategy="default", projector_hidden_act="gelu",
                             image_grid_pinpoints=PINPOINTS)
    model = LlavaNextForConditionalGeneration(config).eval()
    for parameter in model.parameters():
        parameter.copy_(torch.randn_like(parameter) * 0.2)
    image_processor = LlavaNextImageProcessorPil(size={"shortest_edge": TILE}, crop_size={"height": TILE, "width": TILE},
                                                 image_grid_pinpoints=PINPOINTS)
    processor = LlavaNextProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=PATCH,
                                   vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                   chat_template=TEMPLATE, image_token="<image>")
    model.save_pretrained(MODEL, safe_serialization=True)
    processor.save_pretrained(MODEL)
    eager = LlavaNextForConditionalGeneration.from_pretrained(MODEL, attn_implementation="eager").eval()
    reference = LlavaNextForConditionalGeneration.from_pretrained(
        MODEL, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}).eval()
    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
    facts = []
    for name, (width, height) in IMAGES.items():
        image = Image.open(make_image(name, width, height)).convert("RGB")
        inputs = processor(images=image, text=prompt, return_tensors="pt")
        ids = inputs["input_ids"]
        positions = [i for i, t in enumerate(ids[0].tolist()) if t == image_token]
        expected_kinds = kinds(height, width)
        assert len(positions) == len(expected_kinds), (name, len(positions), len(expected_kinds))
        assert positions == list(range(positions[0], positions[0] + len(positions)))
        logits, generated = run(eager, inputs)
        tensors = {"pixel_values": inputs["pixel_values"][0].contiguous(), "image_sizes": inputs["image_sizes"][0].to(torch.long),
                   "input_ids": ids[0].to(torch.long), "logits": logits, "generated": generated}
        fact = {"name": name, "width": width, "height": height, "tiles": int(inputs["pixel_values"].shape[1]),
                "image_tokens": len(positions), "first_image_position": positions[0], "kinds": expected_kinds}
        if name in EAH_IMAGES:
            beta = widest_gap_beta(reference, inputs, positions)
            eah.EAH.configure(layers=[LAYER], selection="dynamic", beta=beta)
            eah.EAH.image_positions = positions
            tensors["eah_dynamic_logits"], tensors["eah_dynamic_generated"] = run(reference, inputs)
            counts, chosen = eah.EAH.counts[LAYER], eah.EAH.chosen[LAYER]
            means = eah.EAH.column_means[LAYER]  # [heads, image positions], NaN: no later rows
            by_kind = {kind: [sum(1 for j, k in enumerate(expected_kinds) if k == kind and means[h, j].item() > beta)
                              for h in range(means.shape[0])] for kind in sorted(set(expected_kinds))}
            fact.update(beta=beta, beta_margin=eah.margin([LAYER]), sink_counts=counts, chosen_head=chosen,
                        sink_counts_by_kind=by_kind)
            eah.EAH.configure(layers=[LAYER], selection="static", static_heads=[STATIC_HEAD], beta=beta, phase="all")
            eah.EAH.image_positions = positions
            tensors["eah_static_logits"], tensors["eah_static_generated"] = run(reference, inputs)
            tensors["eah_sink_counts"] = torch.tensor(counts, dtype=torch.long)
            tensors["eah_chosen_head"] = torch.tensor([chosen], dtype=torch.long)
        save_file(tensors, os.path.join(OUT, name + ".safetensors"))
        facts.append(fact)
        print(name, (width, height), "tiles", fact["tiles"], "image tokens", len(positions), "generated", generated.tolist(),
              {k: fact[k] for k in ("beta", "beta_margin", "sink_counts", "chosen_head") if k in fact})
    mistral_folder = os.path.join(OUT, "tiny-llava-next-mistral-hf")
    os.makedirs(mistral_folder)
    mistral_text = MistralConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                 vocab_size=1503, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=1501,
                                 sliding_window=8)
    mistral = LlavaNextForConditionalGeneration(LlavaNextConfig(
        text_config=mistral_text, vision_config=vision, image_token_index=image_token, vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu", image_grid_pinpoints=PINPOINTS)).eval()
    for parameter in mistral.parameters():
        parameter.copy_(torch.randn_like(parameter) * 0.2)
    mistral.save_pretrained(mistral_folder, safe_serialization=True)
    processor.save_pretrained(mistral_folder)
    mistral = LlavaNextForConditionalGeneration.from_pretrained(mistral_folder, attn_implementation="eager").eval()
    assert mistral.config.text_config.sliding_window == 8
    inputs = processor(images=Image.open(os.path.join(OUT, "wide.png")).convert("RGB"), text=prompt, return_tensors="pt")
    assert inputs["input_ids"].shape[1] > 8
    logits, generated = run(mistral, inputs)
    save_file({"input_ids": inputs["input_ids"][0].to(torch.long), "logits": logits, "generated": generated},
              os.path.join(OUT, "mistral-wide.safetensors"))
    print("mistral wide generated", generated.tolist())
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"question": QUESTION, "prompt": prompt, "layer": LAYER, "static_head": STATIC_HEAD,
                   "new_tokens": NEW_TOKENS, "images": facts}, f, indent=1)


if __name__ == "__main__":
    main()
