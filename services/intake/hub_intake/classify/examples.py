"""The labelled examples the classifier learns from, and their fixed split into a training set and a
held-out test set. The shipped examples were written for this project (see data/README.md)."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SHIPPED = Path(__file__).parent / "data" / "examples.jsonl"
HELD_OUT_EVERY = 5  # one example in five, in every topic, is never trained on
SPLIT_SEED = "hub-intake-classify-1"


@dataclass(frozen=True)
class Example:
    text: str
    topic: str


def load(path: Path = SHIPPED) -> list[Example]:
    """Examples from a jsonl file of {"text": ..., "topic": ...} objects (other keys are ignored)."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
                examples.append(Example(text=row["text"], topic=row["topic"]))
            except (ValueError, KeyError, TypeError) as broken:
                raise ValueError(f"{path.name} line {number}: not a {{text, topic}} object ({broken})") from None
    return examples


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(train, test), stratified by topic and the same on every machine: within a topic the examples are
    ordered by a seeded hash of their text and every fifth is held out."""
    by_topic: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_topic[example.topic].append(example)
    train: list[Example] = []
    test: list[Example] = []
    for topic in sorted(by_topic):
        ordered = sorted(by_topic[topic], key=lambda example: hashlib.sha256(f"{SPLIT_SEED}:{example.text}".encode()).hexdigest())
        for position, example in enumerate(ordered):
            (test if position % HELD_OUT_EVERY == 0 else train).append(example)
    return train, test
