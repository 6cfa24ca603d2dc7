"""The missing-person detector: its vetoes, and its precision and recall on the hand-written sets
(nlp/corpus/missing_person; bench/missing_person.py prints the errors)."""
import json

import pytest

from nlp.missing_person import detect
from tests.conftest import ROOT


@pytest.mark.parametrize("text", [
    "Внимание! Пропала девочка 9 лет, ушла из школы и домой не пришла. Была одета в синюю куртку. Кто видел — звоните 112",
    "Потерялся дедушка, 80 лет, плохо ориентируется. Ушёл из дома утром и не вернулся",
    "Без вести пропал мужчина 45 лет, на связь не выходит с пятницы",
])
def test_people_are_flagged(text):
    found = detect(text)
    assert found is not None and found.points >= 3 and found.evidence


@pytest.mark.parametrize("text", [
    "Пропал кот, серый, ушёл из дома и не вернулся, помогите найти!",
    "Третий день пропадает свет на улице Садовой, дети делают уроки при свечах",
    "Куда пропал автобус 12? Люди стоят на остановке час",
    "Нашлась! Спасибо всем, кто искал нашу бабушку 80 лет",
    "Полиция разыскивает мужчину, подозреваемого в краже, приметы: рост 180, куртка чёрная",
    "Огромные ямы на дороге, дети ходят в школу по обочине",
])
def test_look_alikes_are_not_flagged(text):
    assert detect(text) is None


@pytest.mark.parametrize("name,precision,recall", [("dev", 0.95, 0.9), ("heldout", 0.85, 0.7)])
def test_precision_and_recall_on_the_labelled_sets(name, precision, recall):
    rows = [json.loads(line) for line in (ROOT / "nlp" / "corpus" / "missing_person" / f"{name}.jsonl").read_text().splitlines()]
    hits = [(bool(detect(r["text"])), r["missing_person"]) for r in rows]
    tp = sum(h and g for h, g in hits)
    assert tp / sum(h for h, _ in hits) >= precision and tp / sum(g for _, g in hits) >= recall
