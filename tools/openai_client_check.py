"""Talks to `eah-run --serve` with the official openai client (tests/EAHServerTests).

Usage: openai_client_check.py BASE_URL IMAGE_PATH
Prints one JSON object: the answers of a non-streaming and a streaming request about the
image (as a data URL), the same without EAH, and what a bad request raised.
"""
import base64
import json
import sys

import openai


def main():
    base_url, image_path = sys.argv[1], sys.argv[2]
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    with open(image_path, "rb") as f:
        url = "data:image/png;base64," + base64.b64encode(f.read()).decode()
    messages = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "text", "text": "Describe the image."},
    ]}]
    settings = dict(model=client.models.list().data[0].id, messages=messages, max_tokens=20, temperature=0.7, seed=5)
    plain = client.chat.completions.create(**settings)
    pieces, finish = [], None
    for chunk in client.chat.completions.create(**settings, stream=True):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    off = client.chat.completions.create(**settings, extra_body={"eah": False})
    try:
        client.chat.completions.create(**settings, extra_body={"temperature": "hot"})
        bad = None
    except openai.BadRequestError as error:
        bad = {"status": error.status_code, "param": error.body.get("param")}
    print(json.dumps({
        "text": plain.choices[0].message.content, "eah": plain.model_extra.get("eah"),
        "finish_reason": plain.choices[0].finish_reason, "usage": plain.usage.completion_tokens,
        "stream_text": "".join(pieces), "stream_finish_reason": finish,
        "no_eah_text": off.choices[0].message.content, "no_eah": off.model_extra.get("eah"),
        "bad_request": bad,
    }))


if __name__ == "__main__":
    main()
