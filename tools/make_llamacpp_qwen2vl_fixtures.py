#!/usr/bin/env python3
"""What llama.cpp's convert_hf_to_gguf.py writes for the tiny Qwen2-VL and Qwen2.5-VL models.

Writes Tests/Fixtures/llamacpp-export/qwen2vl.json: for each model of tools/make_qwen2vl_fixtures.py
(Tests/Fixtures/qwen2vl/{qwen2vl,qwen25vl}/hf-save) and each --outtype f32, f16, q8_0, the text
model (`convert_hf_to_gguf.py`) and the mmproj (`--mmproj`): every metadata entry (key, GGUF
value type, value) and every tensor (name, ggml dimensions, ggml type, SHA-256 of its bytes), in
file order, as tools/make_llamacpp_export_fixtures.py describes demo-llava. `eah-convert convert
--to gguf` must write the same (LlamaCppQwen2VLExportTests). The GGUF files are not committed.

Converter: the llama.cpp llama-cpp-python 0.3.36 vendors (tools/llama-cpp.sh), with its gguf-py;
its BPE pre-tokenizer check is told "qwen2" (make_qwen2vl_fixtures.GGUF_WRAPPER: the tiny
tokenizer uses Qwen2's split expression but its ids hash to a value llama.cpp does not list), as
`eah-convert --tokenizer-pre qwen2` is.

Run: /work/main/.venv/bin/python tools/make_llamacpp_qwen2vl_fixtures.py [LLAMA_CPP_SOURCE]
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_llamacpp_export_fixtures as export  # noqa: E402  (describe, serialize; llama.cpp's gguf-py)
import make_qwen2vl_fixtures as qref  # noqa: E402

OUT = os.path.join(export.ROOT, "Tests", "Fixtures", "llamacpp-export", "qwen2vl.json")


def main():
    work = tempfile.mkdtemp(prefix="llamacpp-qwen2vl-")
    wrapper = os.path.join(work, "convert.py")
    with open(wrapper, "w") as f:
        f.write(qref.GGUF_WRAPPER)
    try:
        outputs = {}
        for kind in ("qwen2vl", "qwen25vl"):
            folder = os.path.join(export.ROOT, "Tests", "Fixtures", "qwen2vl", kind, "hf-save")
            for outtype in ("f32", "f16", "q8_0"):
                for part, extra in (("text", []), ("mmproj", ["--mmproj"])):
                    path = os.path.join(work, f"{kind}-{part}-{outtype}.gguf")
                    result = subprocess.run([sys.executable, wrapper, export.LLAMA, folder, "--outfile", path, "--outtype", outtype] + extra,
                                            capture_output=True, text=True)
                    if result.returncode != 0:
                        sys.exit(f"convert_hf_to_gguf {kind} {part} {outtype} failed:\n{result.stderr[-4000:]}")
                    outputs[f"{kind}/{part}-{outtype}"] = export.describe(path)
        document = {
            "schema": 1,
            "source": "Tests/Fixtures/qwen2vl/{qwen2vl,qwen25vl}/hf-save",
            "made_by": {
                "llama.cpp": "vendored by llama-cpp-python 0.3.36 (sdist on PyPI)",
                "text": "convert_hf_to_gguf.py --outtype {f32,f16,q8_0} (pre-tokenizer told qwen2)",
                "mmproj": "convert_hf_to_gguf.py --mmproj --outtype {f32,f16,q8_0}",
                "script": "tools/make_llamacpp_qwen2vl_fixtures.py",
            },
            "outputs": outputs,
        }
        with open(OUT, "w") as f:
            f.write(export.serialize(document))
        print(f"wrote {OUT}: {len(outputs)} outputs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
