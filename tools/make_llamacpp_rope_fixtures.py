#!/usr/bin/env python3
"""What llama.cpp's convert_hf_to_gguf.py writes for LLaMA text models with RoPE scaling.

Writes Tests/Fixtures/llamacpp-export/rope.json: models/demo-llava copied under the names below
with `text_config.rope_parameters` replaced by each case's, converted by convert_hf_to_gguf.py
--outtype f32 (the text model only), each described as tools/make_llamacpp_export_fixtures.py
describes its outputs (every metadata entry and tensor, in file order). The case's
rope_parameters are recorded so the test makes the same folder.

  demo-llava-llama3  rope_type llama3: the converter adds `rope_freqs.weight` (one factor per
                     rotary frequency pair; head_dim 32 with original context 64 and theta 10000
                     puts frequencies in all three of its bands) and no scaling keys;
  demo-llava-yarn    rope_type yarn: `llama.rope.scaling.type` yarn, factor, original context
                     length, yarn_attn_factor, yarn_beta_fast and yarn_beta_slow.

Converter: the llama.cpp llama-cpp-python 0.3.36 vendors (tools/llama-cpp.sh), its gguf-py.
Run: /work/main/.venv/bin/python tools/make_llamacpp_rope_fixtures.py [LLAMA_CPP_SOURCE]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_llamacpp_export_fixtures as export  # noqa: E402

OUT = os.path.join(export.ROOT, "Tests", "Fixtures", "llamacpp-export", "rope.json")
CASES = {
    "demo-llava-llama3": {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
    "demo-llava-yarn": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 64,
                        "attention_factor": 1.25, "beta_fast": 32.0, "beta_slow": 1.0},
}


def main():
    work = tempfile.mkdtemp(prefix="llamacpp-rope-")
    try:
        outputs = {}
        for name, rope in CASES.items():
            folder = os.path.join(work, name)
            shutil.copytree(export.MODEL, folder)
            with open(os.path.join(folder, "config.json")) as f:
                config = json.load(f)
            config["text_config"]["rope_parameters"] = rope
            with open(os.path.join(folder, "config.json"), "w") as f:
                json.dump(config, f, indent=2)
            path = os.path.join(work, name + ".gguf")
            result = subprocess.run([sys.executable, os.path.join(export.LLAMA, "convert_hf_to_gguf.py"), folder, "--outfile", path, "--outtype", "f32"],
                                    env=dict(os.environ, PYTHONPATH=os.path.join(export.LLAMA, "gguf-py")), capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"convert_hf_to_gguf {name} failed:\n{result.stderr[-4000:]}")
            outputs[name] = export.describe(path)
        document = {
            "schema": 1,
            "source": "models/demo-llava with text_config.rope_parameters replaced",
            "rope_parameters": CASES,
            "made_by": {
                "llama.cpp": "vendored by llama-cpp-python 0.3.36 (sdist on PyPI)",
                "text": "convert_hf_to_gguf.py --outtype f32",
                "script": "tools/make_llamacpp_rope_fixtures.py",
            },
            "outputs": outputs,
        }
        with open(OUT, "w") as f:
            f.write(export.serialize(document))
        print(f"wrote {OUT}: {', '.join(outputs)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
