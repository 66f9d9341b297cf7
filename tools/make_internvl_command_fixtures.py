#!/usr/bin/env python3
"""Writes Tests/Fixtures/internvl/internvl/commands.json: what `eah-convert calibrate`, `patch` and
`eah-run` must give on the tiny InternViT-300M-like InternVL model of make_internvl_fixtures.py, from transformers with
the PyTorch EAH reference attention of make_eah_fixtures.py ("eah_reference").

Run: /work/main/.venv/bin/python tools/make_internvl_command_fixtures.py   (after
make_internvl_fixtures.py; reads the saved hf-save folders, writes only commands.json; transformers
5.24.0, torch 2.13 CPU, float32, as pinned in tools/requirements.txt).

As tools/make_qwen2vl_command_fixtures.py (its `chosen_heads` rule is reused): the four images of
facts.json with their questions as a JSONL lists them; layers [0, 1]; selection "count", beta chosen
so every counted column mean of every sample is at least MIN_MARGIN away; per sample the image
tokens (the `<IMG_CONTEXT>` positions of all its tiles) and sink counts [layer][head]. Static EAH
with the chosen heads (phase prefill, `patch --report`'s default) then answers each question:
greedy, 5 new tokens, eos_token_id=None (the test compares through the first stop token).
"""

import json
import os
import sys

import torch
from transformers import InternVLForConditionalGeneration, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_eah_fixtures as eahref  # noqa: E402  (registers the "eah_reference" attention)
import make_internvl_fixtures as iref  # noqa: E402
from make_qwen2vl_command_fixtures import chosen_heads  # noqa: E402

LAYERS = [0, 1]
MIN_MARGIN = 1e-4
torch.set_grad_enabled(False)


def main():
    E = eahref.EAH
    for kind in ("internvl",):
        out = os.path.join(iref.ROOT, kind)
        folder = os.path.join(out, "hf-save")
        tok = PreTrainedTokenizerFast.from_pretrained(folder)
        processor = iref.processor_for(tok)
        context = tok.convert_tokens_to_ids("<IMG_CONTEXT>")
        model = InternVLForConditionalGeneration.from_pretrained(
            folder, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}, dtype=torch.float32).eval()
        batches = [iref.inputs(processor, k)[1] for k in range(len(iref.IMAGE_FILES))]
        positions = [[i for i, t in enumerate(b["input_ids"][0].tolist()) if t == context] for b in batches]

        def count(beta):
            samples, worst = [], float("inf")
            for k, batch in enumerate(batches):
                E.configure(layers=LAYERS, selection="count", beta=beta)
                E.image_positions = positions[k]
                iref.reference(model, batch)
                worst = min(worst, eahref.margin(LAYERS))
                samples.append(dict(image=iref.IMAGE_FILES[k], prompt=iref.QUESTIONS[k], image_tokens=len(positions[k]),
                                    sink_counts=[E.counts[l] for l in LAYERS]))
            return samples, worst

        E.image_positions = positions[0]
        for beta in iref.beta_candidates(model, batches[0]):
            samples, worst = count(beta)
            if worst > MIN_MARGIN and any(sum(map(sum, s["sink_counts"])) for s in samples):
                break
        else:
            raise AssertionError("no beta keeps every sample's column means away from it")
        heads = chosen_heads(samples)
        assert all(h >= 0 for h in heads), f"a layer has no chosen head: {heads}"
        for k, sample in enumerate(samples):
            E.image_positions = positions[k]
            E.configure(layers=LAYERS, selection="static", static_heads=heads, beta=beta, phase="prefill")
            sample["static_generated"] = iref.reference(model, batches[k])[1].tolist()
        E.configure()
        doc = {"layers": LAYERS, "beta": beta, "beta_margin": worst, "chosen_heads": heads, "stop_token": tok.convert_tokens_to_ids("<|im_end|>"),
               "new_tokens": iref.NEW_TOKENS, "samples": samples}
        with open(os.path.join(out, "commands.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"{kind}: beta {beta} (margin {worst:.5f}) chosen {heads}; "
              + "; ".join(f"{s['image']} {s['image_tokens']} tokens {s['sink_counts']} -> {s['static_generated']}" for s in samples))


if __name__ == "__main__":
    main()
