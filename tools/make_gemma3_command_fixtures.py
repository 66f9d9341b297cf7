#!/usr/bin/env python3
"""Writes Tests/Fixtures/gemma3/commands.json: what `eah-convert calibrate`, `patch` and `eah-run`
must give on the tiny Gemma 3 of make_gemma3_fixtures.py, from transformers with the PyTorch EAH
reference attention of make_eah_fixtures.py ("eah_reference").

Run: /work/main/.venv/bin/python tools/make_gemma3_command_fixtures.py   (after
make_gemma3_fixtures.py; reads the saved hf-save folder, writes only commands.json).

Calibration: the three images of facts.json with their questions, in that order, as a JSONL would
list them; layers [0, 1]; selection "count" (no broadcast), beta chosen so every counted column
mean of every sample is at least MIN_MARGIN away. Per sample: image tokens and sink counts
[layer][head]. A layer's chosen head wins most samples (densest head, ties to the lower index),
ties broken by the larger summed count, then the lower index (as make_qwen2vl_command_fixtures.py).
Static EAH with the chosen heads (phase prefill, `patch --report`'s default) then answers each
sample's question: greedy, 5 new tokens, eos_token_id=None (eah-run stops at <eos>, so the test
compares up to and including the first stop token).
"""

import json
import os
import sys

import torch
from transformers import Gemma3ForConditionalGeneration, Gemma3Processor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_eah_fixtures as eahref  # noqa: E402  (registers the "eah_reference" attention)
import make_gemma3_fixtures as gref  # noqa: E402
from make_qwen2vl_command_fixtures import chosen_heads  # noqa: E402

LAYERS = [0, 1]
MIN_MARGIN = 1e-4
torch.set_grad_enabled(False)


def main():
    E = eahref.EAH
    folder = os.path.join(gref.ROOT, "hf-save")
    processor = Gemma3Processor.from_pretrained(folder)
    tok = processor.tokenizer
    image_id = tok.convert_tokens_to_ids("<image_soft_token>")
    model = Gemma3ForConditionalGeneration.from_pretrained(
        folder, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}, dtype=torch.float32).eval()
    batches = [gref.inputs(processor, k)[1] for k in range(len(gref.IMAGE_FILES))]
    positions = [[i for i, t in enumerate(b["input_ids"][0].tolist()) if t == image_id] for b in batches]

    def count(beta):
        samples, worst = [], float("inf")
        for k, batch in enumerate(batches):
            E.configure(layers=LAYERS, selection="count", beta=beta)
            E.image_positions = positions[k]
            gref.reference(model, batch)
            worst = min(worst, eahref.margin(LAYERS))
            samples.append(dict(image=gref.IMAGE_FILES[k], prompt=gref.QUESTIONS[k], image_tokens=len(positions[k]),
                                sink_counts=[E.counts[l] for l in LAYERS]))
        return samples, worst

    E.image_positions = positions[0]
    for beta in gref.beta_candidates(model, batches[0]):
        samples, worst = count(beta)
        heads = chosen_heads(samples)
        if worst > MIN_MARGIN and all(h >= 0 for h in heads):
            break
    else:
        raise AssertionError("no beta keeps every sample's column means away from it with a head chosen per layer")
    for k, sample in enumerate(samples):
        E.image_positions = positions[k]
        E.configure(layers=LAYERS, selection="static", static_heads=heads, beta=beta, phase="prefill")
        sample["static_generated"] = gref.reference(model, batches[k])[1].tolist()
    E.configure()
    doc = {"layers": LAYERS, "beta": beta, "beta_margin": worst, "chosen_heads": heads, "stop_token": tok.convert_tokens_to_ids("<eos>"),
           "new_tokens": gref.NEW_TOKENS, "samples": samples}
    with open(os.path.join(gref.ROOT, "commands.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"gemma3: beta {beta} (margin {worst:.5f}) chosen {heads}; "
          + "; ".join(f"{s['image']} {s['sink_counts']} -> {s['static_generated']}" for s in samples))


if __name__ == "__main__":
    main()
