"""Tokens of CHAIR captions as nltk tokenizes them (Tests/Fixtures/eval/chair_tokens.json).

CHAIR's script (OPERA's chair.py) runs nltk.word_tokenize on the lowercased caption: punkt splits
sentences, then NLTKWordTokenizer splits each. punkt's model is nltk data that cannot be
installed here, so each caption is given as its sentences and NLTKWordTokenizer (pure code) runs
on each; the test joins the sentences with a space and checks ObjectVocabulary.tokenize against
the concatenated tokens. Run: /work/main/.venv/bin/python tools/make_chair_fixtures.py
"""
import json
import pathlib

import nltk
from nltk.tokenize import NLTKWordTokenizer

CAPTIONS = [
    ["The image shows a man riding a horse on a dirt road."],
    ["Two dogs are playing with a frisbee in the park.", "One of them is jumping."],
    ["A woman's handbag sits on the dining table, next to a wine glass and a cell phone."],
    ["There are three people, two cars and a bus at the traffic light."],
    ["The kitchen has a stove top oven, a microwave, and a refrigerator.", "It doesn't look used."],
    ["A baby elephant walks beside an adult elephant; there's no giraffe."],
    ["A t-shirt, 3.5 pizzas and a hot-dog (with mustard) are on the plate!"],
    ["A skier is skiing down the slope with ski poles.", "The snow is fresh..."],
    ["A passenger train is stopped at the station, and people are waiting."],
    ["The bathroom contains a toilet, a sink and the seat of the toilet is up."],
    ["In the living room, a cat sleeps on the couch while a TV is on."],
    ["He's holding a baseball bat; she'll catch the ball with a baseball glove."],
]


def main():
    tokenizer = NLTKWordTokenizer()
    cases = []
    for sentences in CAPTIONS:
        tokens = [token for sentence in sentences for token in tokenizer.tokenize(sentence.lower())]
        cases.append({"text": " ".join(sentences), "tokens": tokens})
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/eval/chair_tokens.json"
    out.write_text(json.dumps({"nltk": nltk.__version__, "cases": cases}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out} ({len(cases)} captions)")


if __name__ == "__main__":
    main()
