#!/usr/bin/env python3
"""LLaVA-OneVision fixtures (Tests/Fixtures/llava-onevision/), made by transformers 5.24 (float32, eager).

tiny-llava-onevision-hf/  a tiny random LlavaOnevisionForConditionalGeneration saved by save_pretrained
                     with its LlavaOnevisionProcessor:
                     * SigLIP tower (SiglipVisionConfig, vision_use_head=False): 42 px tiles, patch 14, so
                       3x3 features per tile, no class token, learned positions, gelu_pytorch_tanh,
                       LayerNorm 1e-6, 3 layers; features hidden_states[-1] (before post_layernorm),
                       strategy "full";
                     * Qwen2 decoder: hidden 32, 2 layers, 4 heads / 2 kv heads, q/k/v biases (no o bias),
                       rope_theta 1e6, tied embeddings;
                     * image_grid_pinpoints: every i x j tiles of 42 px, 1 <= i, j <= 4 (as the hub's 1..6 x 384),
                       vision_aspect_ratio anyres_max_9 (the projected grid is shrunk bilinearly when
                       sqrt(rows*cols / (9*3*3)) > 1.1);
                     * LlavaOnevisionImageProcessorPil(size 42x42, mean/std 0.5 as the hub's), a Qwen2Tokenizer
                       (ByteLevel BPE trained here on CORPUS, Qwen2's pre-tokenizer; specials <|endoftext|>,
                       <|im_start|>, <|im_end|>, <image>, <video>) and a ChatML chat template in the style of
                       llava-hf/llava-onevision-qwen2-0.5b-ov-hf.
<image>.png          test images: wide, tall, tiny, and large, portrait and huge (their unpadded grids are shrunk).
<image>.safetensors  for the prompt PROMPT (the chat template with one image and QUESTION):
                     pixel_values F32 [tiles, 3, 42, 42] and image_sizes I64 [2] (the processor's),
                     input_ids I64 [seq] (the processor's, one `<image>` per image feature),
                     tile_features F32 [tiles, 9, 32]: the projector's output per tile (before packing),
                     tile_last_hidden_state F32 [tiles, 9, 32]: the tower's last_hidden_state (after
                       post_layernorm, the feature Gemma 3 and SmolVLM take),
                     image_features F32 [image tokens, 32]: pack_image_features' output (base tile, then the
                       unpadded / shrunk grid with a newline per row),
                     logits F32 [seq + 4, vocab]: prompt rows, then a row per greedy decode step
                     (generate(do_sample=False, max_new_tokens=5, eos_token_id=None)), generated I64 [5];
                     for the EAH_IMAGES only: eah_dynamic_logits / eah_dynamic_generated: the PyTorch EAH
                     reference of tools/make_eah_fixtures.py, dynamic selection at layer 1 (prefill; beta per
                     image: the middle of the widest gap between the layer's column means that
                     makes one head the unique densest; `beta_margin`);
                     eah_static_logits / eah_static_generated: static head STATIC_HEAD at layer 1 (prefill and
                     decode: what a baked bundle computes); eah_sink_counts I64 [heads], eah_chosen_head I64 [1].
text.safetensors     a text-only prompt: input_ids I64 [seq] (the tokenizer's), logits F32 [seq, vocab].
expected.json        per image: name, size, tiles, image token count, first image position, the kinds of the
                     image positions (base, tile, newline), the grid after unpad and after the shrink, EAH facts.
Run: /work/main/.venv/bin/python tools/make_llava_onevision_fixtures.py
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, LlavaOnevisionProcessor,
                          Qwen2Config, Qwen2Tokenizer, SiglipVisionConfig)
from transformers.image_processing_utils import select_best_resolution
from transformers.processing_utils import ProcessorMixin
from transformers.models.llava_onevision.image_processing_pil_llava_onevision import LlavaOnevisionImageProcessorPil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_eah_fixtures as eah  # noqa: E402  (registers the "eah_reference" attention)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "llava-onevision")
MODEL = os.path.join(OUT, "tiny-llava-onevision-hf")
QUESTION = "What is in the picture?"
TEXT_ONLY = "Describe a cat, please."
TILE, PATCH = 42, 14
GRID = TILE // PATCH
PINPOINTS = [[TILE * i, TILE * j] for i in range(1, 5) for j in range(1, 5)]
MAX_TILES = 9  # anyres_max_9
NEW_TOKENS = 5
STATIC_HEAD, LAYER = 2, 1
EAH_IMAGES = ["wide", "large"]
IMAGES = {"wide": (97, 31), "tall": (29, 80), "tiny": (9, 7), "large": (200, 150), "portrait": (130, 170), "huge": (300, 290)}  # (width, height)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"]
CORPUS = [
    "What is in the picture? A cat sits on the mat, and the dog is in the garden.",
    "Describe the image in detail. There is a red car, a tree and two people.",
    "user assistant system: you are a helpful assistant. The picture shows a room.",
    "How many birds are there? I can see 3 birds, 12 clouds and the sun.",
    "It's a photo of the city at night; the lights aren't on yet.",
]
# In the style of llava-hf/llava-onevision-qwen2-0.5b-ov-hf's chat template (ChatML, images first).
TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\n' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
    "{{'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
torch.set_grad_enabled(False)

# The video processor needs torchvision, which the pinned environment lacks; images never use it.
_check = ProcessorMixin.check_argument_for_proper_class
ProcessorMixin.check_argument_for_proper_class = (
    lambda self, name, argument: None if name == "video_processor" and argument is None else _check(self, name, argument))


def make_tokenizer():
    """A Qwen2Tokenizer over a BPE trained on CORPUS with Qwen2's own pre-tokenizer."""
    probe = Qwen2Tokenizer()
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.normalizer = probe.backend_tokenizer.normalizer
    trainer_tok.pre_tokenizer = probe.backend_tokenizer.pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=420, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    trainer_tok.train_from_iterator(CORPUS * 4, trainer)
    state = json.loads(trainer_tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    vocab = dict(state["vocab"])
    for special in SPECIALS:
        vocab[special] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    return tokenizer


def make_image(name, width, height):
    rng = np.random.default_rng(len(name) * 1000 + width)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) * 127 // max(1, width + height - 2)], -1)
    noise = rng.integers(0, 64, size=(height, width, 3))
    pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
    path = os.path.join(OUT, name + ".png")
    Image.fromarray(pixels, "RGB").save(path)
    return path


def layout(height, width):
    """The kinds of the image positions as pack_image_features lays them out (base first), with the
    grid after unpad and after anyres_max_9's shrink."""
    best_h, best_w = select_best_resolution([height, width], PINPOINTS)
    rows, cols = GRID * (best_h // TILE), GRID * (best_w // TILE)
    if width / height > cols / rows:
        new_height = int(round(height * (cols / width), 7))
        rows -= 2 * ((rows - new_height) // 2)
    else:
        new_width = int(round(width * (rows / height), 7))
        cols -= 2 * ((cols - new_width) // 2)
    unpadded = [rows, cols]
    ratio = math.sqrt(rows * cols / (MAX_TILES * GRID * GRID))
    if ratio > 1.1:
        rows, cols = int(rows // ratio), int(cols // ratio)
    return ["base"] * GRID * GRID + (["tile"] * cols + ["newline"]) * rows, unpadded, [rows, cols]


def run(model, inputs):
    prompt = model(**inputs).logits[0]
    out = model.generate(**inputs, do_sample=False, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                         output_logits=True, return_dict_in_generate=True, pad_token_id=0, eos_token_id=None)
    generated = out.sequences[0, inputs["input_ids"].shape[1]:].to(torch.long)
    steps = torch.stack([l[0] for l in out.logits])
    assert torch.allclose(steps[0], prompt[-1], atol=1e-5)
    return torch.cat([prompt, steps[1:]], 0).float().contiguous(), generated


def distinct_beta(reference, inputs, positions):
    """A beta far from every column mean at LAYER that makes one head the unique densest: the midpoint of
    the widest gap between consecutive column means (all heads; the middle 80% of them) whose counts have
    a single maximum."""
    eah.EAH.configure(layers=[LAYER], selection="count", beta=1.0)
    eah.EAH.image_positions = positions
    reference(**inputs)
    table = eah.EAH.column_means[LAYER]
    means = sorted(float(x) for x in table.flatten()[~torch.isnan(table.flatten())])
    low, high = len(means) // 10, len(means) - len(means) // 10
    for gap, index in sorted(((means[i + 1] - means[i], i) for i in range(low, high - 1)), reverse=True):
        beta = round((means[index] + means[index + 1]) / 2, 6)
        counts = [int((row[~torch.isnan(row)] > beta).sum()) for row in table]
        if max(counts) > 0 and counts.count(max(counts)) == 1:
            return beta
    raise SystemExit("no beta gives a unique densest head")


def features(model, inputs):
    """Per-tile projected features and the packed image features, as get_image_features computes them."""
    inner = model.model
    tower = inner.vision_tower(inputs["pixel_values"][0], output_hidden_states=True)
    tiles = inner.multi_modal_projector(tower.hidden_states[-1])
    packed, _ = inner.pack_image_features([tiles], inputs["image_sizes"], image_newline=inner.image_newline,
                                          vision_aspect_ratio=model.config.vision_aspect_ratio)
    return tiles.contiguous(), packed[0].contiguous(), tower.last_hidden_state.contiguous()


def main():
    torch.manual_seed(9)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(MODEL)
    tokenizer = make_tokenizer()
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    text = Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       vocab_size=len(tokenizer), max_position_embeddings=512, rope_theta=1e6, rms_norm_eps=1e-6,
                       tie_word_embeddings=True, use_sliding_window=False,
                       bos_token_id=None, eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                       pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                                image_size=TILE, patch_size=PATCH, vision_use_head=False, layer_norm_eps=1e-6,
                                hidden_act="gelu_pytorch_tanh")
    config = LlavaOnevisionConfig(text_config=text, vision_config=vision, image_token_index=image_token,
                                  video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
                                  vision_feature_layer=-1, vision_feature_select_strategy="full",
                                  vision_aspect_ratio="anyres_max_9", image_grid_pinpoints=PINPOINTS,
                                  projector_hidden_act="gelu", multimodal_projector_bias=True, tie_word_embeddings=True)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    for parameter in model.parameters():
        parameter.copy_(torch.randn_like(parameter) * 0.2)
    image_processor = LlavaOnevisionImageProcessorPil(size={"height": TILE, "width": TILE}, image_grid_pinpoints=PINPOINTS,
                                                      image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    processor = LlavaOnevisionProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                                        num_image_tokens=GRID * GRID, vision_feature_select_strategy="full",
                                        chat_template=TEMPLATE, vision_aspect_ratio="anyres_max_9")
    model.save_pretrained(MODEL, safe_serialization=True)
    processor.get_attributes = lambda: ["image_processor", "tokenizer"]  # no video processor to save
    processor.save_pretrained(MODEL)
    eager = LlavaOnevisionForConditionalGeneration.from_pretrained(MODEL, attn_implementation="eager").eval()
    reference = LlavaOnevisionForConditionalGeneration.from_pretrained(
        MODEL, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}).eval()
    assert eager.model.language_model.layers[0].self_attn.q_proj.bias is not None
    assert eager.model.language_model.layers[0].self_attn.o_proj.bias is None
    assert eager.lm_head.weight.data_ptr() == eager.model.language_model.embed_tokens.weight.data_ptr()
    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)

    text_ids = tokenizer(TEXT_ONLY, return_tensors="pt")["input_ids"]
    text_logits = eager(input_ids=text_ids).logits[0].float().contiguous()
    save_file({"input_ids": text_ids[0].to(torch.long), "logits": text_logits}, os.path.join(OUT, "text.safetensors"))

    facts = []
    for name, (width, height) in IMAGES.items():
        image = Image.open(make_image(name, width, height)).convert("RGB")
        inputs = processor(images=image, text=prompt, return_tensors="pt")
        inputs.pop("batch_num_images", None)
        ids = inputs["input_ids"]
        positions = [i for i, t in enumerate(ids[0].tolist()) if t == image_token]
        kinds, unpadded, grid = layout(height, width)
        assert len(positions) == len(kinds), (name, len(positions), len(kinds))
        assert positions == list(range(positions[0], positions[0] + len(positions)))
        tiles, packed, last_hidden_state = features(eager, inputs)
        assert packed.shape[0] == len(kinds)
        logits, generated = run(eager, inputs)
        tensors = {"pixel_values": inputs["pixel_values"][0].contiguous(), "image_sizes": inputs["image_sizes"][0].to(torch.long),
                   "input_ids": ids[0].to(torch.long), "tile_features": tiles, "image_features": packed,
                   "tile_last_hidden_state": last_hidden_state,
                   "logits": logits, "generated": generated}
        fact = {"name": name, "width": width, "height": height, "tiles": int(inputs["pixel_values"].shape[1]),
                "image_tokens": len(positions), "first_image_position": positions[0], "unpadded_grid": unpadded,
                "grid": grid, "shrunk": unpadded != grid, "kinds": kinds}
        if name in EAH_IMAGES:
            beta = distinct_beta(reference, inputs, positions)
            eah.EAH.configure(layers=[LAYER], selection="dynamic", beta=beta)
            eah.EAH.image_positions = positions
            tensors["eah_dynamic_logits"], tensors["eah_dynamic_generated"] = run(reference, inputs)
            counts, chosen = eah.EAH.counts[LAYER], eah.EAH.chosen[LAYER]
            fact.update(beta=beta, beta_margin=eah.margin([LAYER]), sink_counts=counts, chosen_head=chosen)
            eah.EAH.configure(layers=[LAYER], selection="static", static_heads=[STATIC_HEAD], beta=beta, phase="all")
            eah.EAH.image_positions = positions
            tensors["eah_static_logits"], tensors["eah_static_generated"] = run(reference, inputs)
            tensors["eah_sink_counts"] = torch.tensor(counts, dtype=torch.long)
            tensors["eah_chosen_head"] = torch.tensor([chosen], dtype=torch.long)
        save_file(tensors, os.path.join(OUT, name + ".safetensors"))
        facts.append(fact)
        print(name, (width, height), "tiles", fact["tiles"], "image tokens", len(positions), "grid", unpadded, "->", grid,
              "generated", generated.tolist(), {k: fact[k] for k in ("beta", "beta_margin", "sink_counts", "chosen_head") if k in fact})
    assert any(f["shrunk"] and f["width"] > f["height"] for f in facts), "no wide image triggers anyres_max_9's shrink"
    assert any(f["shrunk"] and f["width"] < f["height"] for f in facts), "no tall image triggers anyres_max_9's shrink"
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"question": QUESTION, "prompt": prompt, "text_only": TEXT_ONLY, "image_token": image_token,
                   "layer": LAYER, "static_head": STATIC_HEAD, "new_tokens": NEW_TOKENS, "images": facts}, f, indent=1)


if __name__ == "__main__":
    main()
