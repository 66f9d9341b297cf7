#!/usr/bin/env python3
"""Text-only fixtures: plain causal LMs and a llama.cpp text GGUF run without an image.

Writes Tests/Fixtures/textonly/:
  tiny-llama/   a tiny random LlamaForCausalLM (transformers 5.24, float32, untied lm_head) saved with
                the tokenizer of Tests/Fixtures/tokenizer and the llava-1.5-hf chat template;
  tiny-qwen2/   the same as a Qwen2ForCausalLM (q/k/v biases, tied embeddings);
  tiny-mistral/ the same as a MistralForCausalLM with an 8-token sliding window (shorter than the prompt);
  expected.json for each model: the question, the rendered text-only prompt, its ids (the tokenizer
                as transformers applies it), and greedy tokens (argmax of eager logits, up to 4 new
                tokens, through the first EOS);
  <name>-logits.safetensors  F32 `logits` [new tokens, vocab]: transformers' eager logits at the
                last prompt position and at each decoded position (eah-run --logits-out's last rows).
The llama.cpp text GGUF is Tests/Fixtures/llava/m1-gqa-bias/gguf/text-f32.gguf (tools/make_llava_fixtures.py,
written from m1's language model); its reference is m1's hf-save folder run by transformers with
input ids only (no pixel values), entry "m1-gguf". Run: .venv/bin/python tools/make_textonly_fixtures.py
"""
import json
import os
import shutil

import gguf
import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, LlavaForConditionalGeneration, MistralConfig, MistralForCausalLM,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "textonly")
TEMPLATE = open(os.path.join(FIXTURES, "templates", "llava_15_hf.jinja")).read()
NEW_TOKENS = 4


def greedy(model, ids, eos):
    """Greedy decoding as eah-run does it: up to NEW_TOKENS, stopping after an EOS; logits of each step."""
    tokens, rows = [], []
    with torch.no_grad():
        while len(tokens) < NEW_TOKENS:
            logits = model(input_ids=torch.tensor([ids + tokens])).logits[0, -1]
            rows.append(logits.float())
            token = int(torch.argmax(logits))
            tokens.append(token)
            if token in eos:
                break
    return tokens, torch.stack(rows).contiguous()


def save_model(name, model_class, config, seed):
    torch.manual_seed(seed)
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(FIXTURES, "tokenizer", "tokenizer.json"),
                                        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    tokenizer.chat_template = TEMPLATE
    model = model_class(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.2)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    model = model_class.from_pretrained(folder, attn_implementation="eager").eval()
    question = "Name three colors."
    messages = [{"role": "user", "content": [{"type": "text", "text": question}]}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text)["input_ids"]
    tokens, logits = greedy(model, ids, {config.eos_token_id})
    save_file({"logits": logits}, os.path.join(OUT, f"{name}-logits.safetensors"))
    return {"question": question, "text": text, "input_ids": ids, "tokens": tokens}


def main():
    os.makedirs(OUT, exist_ok=True)
    common = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  vocab_size=1503, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    expected = {
        "tiny-llama": save_model("tiny-llama", LlamaForCausalLM, LlamaConfig(**common, tie_word_embeddings=False), 11),
        "tiny-qwen2": save_model("tiny-qwen2", Qwen2ForCausalLM, Qwen2Config(**common, tie_word_embeddings=True, rope_theta=1e6), 12),
        "tiny-mistral": save_model("tiny-mistral", MistralForCausalLM, MistralConfig(**common, sliding_window=8), 13),
    }
    # The m1 text GGUF, against m1's transformers folder with ids only.
    m1 = os.path.join(FIXTURES, "llava", "m1-gqa-bias")
    model = LlavaForConditionalGeneration.from_pretrained(os.path.join(m1, "hf-save"), attn_implementation="eager").eval()
    reader = gguf.GGUFReader(os.path.join(m1, "gguf", "text-f32.gguf"))
    field = reader.fields["tokenizer.ggml.eos_token_id"]
    eos = int(field.parts[field.data[0]][0])
    ids = [1, 17, 5, 42, 9, 3, 28, 11]
    tokens, logits = greedy(model, ids, {eos})
    save_file({"logits": logits}, os.path.join(OUT, "m1-gguf-logits.safetensors"))
    expected["m1-gguf"] = {"input_ids": ids, "tokens": tokens}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
