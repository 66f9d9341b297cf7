#!/usr/bin/env python3
"""End-to-end fixture: a tiny llava-hf model answering from an image file and a text prompt.

Writes Tests/Fixtures/e2e/:
  tiny-llava-hf/   a tiny random LlavaForConditionalGeneration (transformers 5.24, float32) saved
                   with its LlavaProcessor: config.json, model.safetensors, the tokenizer of
                   Tests/Fixtures/tokenizer (tokenizer.json with `<image>` = 1500), a
                   CLIPImageProcessor config (28 px) and the llava-1.5-hf chat template;
  expected.json    for each (image, question): the rendered prompt, the processor's input_ids,
                   and `generate(do_sample=False, max_new_tokens=8)`'s new tokens and text.
The images are files of Tests/Fixtures/images/valid, opened as transformers' `load_image` does
(exif_transpose, convert("RGB")). Run: .venv/bin/python tools/make_e2e_fixtures.py
"""
import json
import os
import shutil

import torch
from PIL import Image, ImageOps
from transformers import (CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor,
                          PreTrainedTokenizerFast)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "e2e")
LLAVA_15_HF_TEMPLATE = open(os.path.join(FIXTURES, "templates", "llava_15_hf.jinja")).read()
CASES = [("rgb_37x53_420.jpg", "What is shown in this picture?"), ("exif6_45x31.jpg", "Describe the image."),
         ("rgba_301x97.png", "Is there a red square? Answer yes or no.")]


def main():
    torch.manual_seed(7)
    folder = os.path.join(OUT, "tiny-llava-hf")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(FIXTURES, "tokenizer", "tokenizer.json"),
                                        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    text = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       vocab_size=1503, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=1501)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, image_size=28,
                              patch_size=14)
    config = LlavaConfig(text_config=text, vision_config=vision, image_token_index=image_token, vision_feature_layer=-2,
                         vision_feature_select_strategy="default", projector_hidden_act="gelu")
    model = LlavaForConditionalGeneration(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    model.config._attn_implementation = "eager"
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=14,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_15_HF_TEMPLATE, image_token="<image>")
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    model = LlavaForConditionalGeneration.from_pretrained(folder, attn_implementation="eager").eval()
    expected = []
    for image_name, question in CASES:
        shutil.copy(os.path.join(FIXTURES, "images", "valid", image_name), os.path.join(OUT, image_name))
        image = ImageOps.exif_transpose(Image.open(os.path.join(OUT, image_name))).convert("RGB")
        conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
        inputs = processor(images=image, text=prompt, return_tensors="pt")
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=8, do_sample=False)
        new_tokens = output[0, inputs["input_ids"].shape[1]:].tolist()
        expected.append({
            "image": image_name, "question": question, "prompt": prompt,
            "input_ids": inputs["input_ids"][0].tolist(), "generated": new_tokens,
            "text": tokenizer.decode(new_tokens, skip_special_tokens=True),
        })
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"model": "tiny-llava-hf", "max_new_tokens": 8, "cases": expected}, f, indent=1, ensure_ascii=False)
    for case in expected:
        print(case["image"], repr(case["prompt"]), case["generated"], repr(case["text"]))


if __name__ == "__main__":
    main()
