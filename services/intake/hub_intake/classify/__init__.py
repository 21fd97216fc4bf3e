"""Intake classifies each case's text: a suggested topic with a confidence (`model`, trained on first use
from the shipped training split) and the routing keywords found in it (`keywords`). Only topic and
keyword ids leave intake, on `CaseRegistered`; the citizen's words never do. Staff confirm or correct the
topic (hub_intake.classification_api), and each decision is kept with the text as training data.

`python -m hub_intake.classify evaluate` scores the model on the held-out examples;
`python -m hub_intake.classify export-corrections <database-url>` writes the staff decisions as jsonl,
which `evaluate --extra <file>` trains on too. Folding them into the served model is a manual step.
"""

from dataclasses import dataclass
from functools import cache

from hub_intake.classify.examples import load, split
from hub_intake.classify.keywords import KeywordFinder
from hub_intake.classify.model import TopicModel
from hub_intake.models import Case
from hub_shared.reference import routing_keywords, topics
from hub_shared.text import normalize_text


@dataclass(frozen=True)
class Classification:
    topic: str
    confidence: float
    keywords: list[str]


@cache
def topic_model() -> TopicModel:
    """Trained once per process on the shipped training split (well under a second)."""
    train, _ = split(load())
    unknown = {example.topic for example in train} - {topic.id for topic in topics()}
    if unknown:
        raise ValueError(f"examples.jsonl names topics that topics.yaml lacks: {sorted(unknown)}")
    return TopicModel.train(train)


@cache
def keyword_finder() -> KeywordFinder:
    return KeywordFinder(routing_keywords())


def case_text(subject: str, description: str) -> str:
    """What intake classifies, and keeps with a staff decision: the subject and description, normalised."""
    return normalize_text(f"{subject} {description}")


def classify(subject: str, description: str) -> Classification:
    text = case_text(subject, description)
    suggestion = topic_model().suggest(text)
    return Classification(topic=suggestion.topic, confidence=suggestion.confidence, keywords=keyword_finder().find(text))


def labels(case: Case, subject: str, description: str) -> dict[str, object]:
    """Classify a new case: keep the suggestion on `case` and return the labels `CaseRegistered` carries."""
    found = classify(subject, description)
    case.topic, case.topic_confidence = found.topic, found.confidence
    return {"topic_id": found.topic, "topic_confidence": found.confidence, "keywords": found.keywords}
