"""How well the topic model does on the held-out examples: accuracy, macro-F1 and the most frequent
confusions. The `evaluate` command and the tests call the same function."""

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hub_intake.classify.examples import Example, load, split
from hub_intake.classify.model import TopicModel


@dataclass(frozen=True)
class TopicScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    macro_f1: float
    per_topic: dict[str, TopicScore]
    confusions: list[tuple[str, str, int]]  # (true topic, predicted topic, how many), most frequent first
    train_size: int
    test_size: int
    train_seconds: float


def evaluate(extra_training: Sequence[Example] = ()) -> Evaluation:
    """Train on the shipped training split (plus `extra_training`, e.g. exported corrections) and score
    the shipped held-out split."""
    train, test = split(load())
    started = time.perf_counter()
    model = TopicModel.train([*train, *extra_training])
    seconds = time.perf_counter() - started
    pairs = [(example.topic, model.suggest(example.text).topic) for example in test]
    return score(pairs, train_size=len(train) + len(extra_training), train_seconds=seconds)


def score(pairs: Sequence[tuple[str, str]], train_size: int = 0, train_seconds: float = 0.0) -> Evaluation:
    """Scores of (true, predicted) topic pairs; macro-F1 averages over the topics that occur in either."""
    outcomes = Counter(pairs)
    topics = sorted({topic for pair in pairs for topic in pair})
    per_topic = {topic: _topic_score(topic, outcomes) for topic in topics}
    correct = sum(count for (true, predicted), count in outcomes.items() if true == predicted)
    confusions = sorted(((true, predicted, count) for (true, predicted), count in outcomes.items() if true != predicted),
                        key=lambda confusion: (-confusion[2], confusion[0], confusion[1]))
    return Evaluation(accuracy=correct / len(pairs) if pairs else 0.0,
                      macro_f1=sum(s.f1 for s in per_topic.values()) / len(per_topic) if per_topic else 0.0,
                      per_topic=per_topic, confusions=confusions, train_size=train_size, test_size=len(pairs),
                      train_seconds=train_seconds)


def _topic_score(topic: str, outcomes: Counter[tuple[str, str]]) -> TopicScore:
    hits = outcomes[(topic, topic)]
    predicted = sum(count for (_, guess), count in outcomes.items() if guess == topic)
    actual = sum(count for (true, _), count in outcomes.items() if true == topic)
    precision = hits / predicted if predicted else 0.0
    recall = hits / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TopicScore(precision=precision, recall=recall, f1=f1, support=actual)


def report(evaluation: Evaluation, confusions: int = 10) -> str:
    lines = [f"held-out examples: {evaluation.test_size} (trained on {evaluation.train_size} in {evaluation.train_seconds:.2f} s)",
             f"accuracy: {evaluation.accuracy:.3f}", f"macro-F1: {evaluation.macro_f1:.3f}", "",
             f"{'topic':<26} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>4}"]
    lines += [f"{topic:<26} {topic_score.precision:>9.2f} {topic_score.recall:>7.2f} {topic_score.f1:>6.2f} {topic_score.support:>4}"
              for topic, topic_score in evaluation.per_topic.items()]
    lines += ["", "most frequent confusions (true -> predicted: count):"]
    lines += [f"  {true} -> {predicted}: {count}" for true, predicted, count in evaluation.confusions[:confusions]] or ["  none"]
    return "\n".join(lines)
