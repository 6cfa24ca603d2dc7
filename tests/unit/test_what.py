import pytest

from nlp import corpus, what
from nlp.corpus import SECTORS


@pytest.fixture(scope="module")
def model():
    return what.WhatModel.load()


def test_corpus_is_large_varied_and_split():
    ex = corpus.load()
    assert len(ex) >= 1500
    assert {e.sector for e in ex} == set(SECTORS)
    assert sum(not e.complaint for e in ex) >= 150
    train, held = corpus.split(ex)
    assert 0.15 < len(held) / len(ex) < 0.25 and not {e.text for e in train} & {e.text for e in held}


def test_saved_model_matches_the_corpus(model):
    """The artefact is versioned by corpus + lexicon + features: retrain after changing them."""
    assert model.version == f"what-{what.corpus_version(corpus.load())}", "run `tsur train-sectors` and commit nlp/models/what.json and what.npz"


def test_heldout_quality_floor(model):
    m = what.evaluate(model)
    assert m["sector_accuracy"] >= 0.85 and m["sector_macro_f1"] >= 0.85, what.format_report(m)
    assert m["complaint_accuracy"] >= 0.85


def test_obvious_posts(model):
    cases = {
        "третий день нет горячей воды в доме, управляющая компания не отвечает": "housing",
        "мусор не вывозят уже неделю, баки переполнены": "waste",
        "автобус 12 опять не пришёл, люди ждут на остановке по часу": "transport",
        "на дороге огромные ямы, машину разбил": "roads",
        "отключили свет во всём посёлке": "energy",
        "в поликлинике не записаться к терапевту": "healthcare",
        "в школе нет учителя математики": "education",
        "не приходит пособие на детей уже три месяца": "social",
        "во дворе сломаны качели и не горят фонари": "landscaping",
    }
    results = model.analyse_batch(list(cases))
    assert [r.sector for r in results] == list(cases.values())
    assert all(r.is_complaint for r in results)
    assert not model.analyse("Продам диван, самовывоз, недорого").is_complaint


@pytest.mark.parametrize("text", ["", "   \n\t ", "a" * 100_000, "The weather is nice today in London",
                                  "\x00\x01\x02 garbage \ufffd\ufffd", "<script>alert(1)</script><b>жалоба</b>",
                                  "Привет hello 你好 مرحبا", "🙂🙂🙂", "1234567890 " * 50])
def test_bad_input_gives_well_formed_low_confidence_results(model, text):
    r = model.analyse(text)
    assert r.sector in SECTORS and 0.0 <= r.sector_confidence <= 1.0 and 0.0 <= r.complaint_score <= 1.0
    assert 0.0 <= r.urgency <= 1.0


def test_empty_is_unknown(model):
    r = model.analyse("  ")
    assert (r.sector, r.sector_confidence, r.is_complaint) == ("other", 0.0, False)


def test_urgency_is_explainable():
    from nlp.urgency import urgency

    score, reasons = urgency("Третий день без воды весь посёлок, дети и старики")
    assert score >= 0.8 and {"длительность", "массовость", "дети и уязвимые"} <= set(reasons)
    assert urgency("Подскажите график работы МФЦ") == (0.0, [])


def test_numpy_prediction_equals_scikit_learn():
    """The worker predicts with numpy only; the result must be scikit-learn's."""
    import numpy as np
    from scipy.special import softmax
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from nlp.classifier import LinearTextModel, identity

    docs = [["вода", "нет", "нет"], ["дорога", "яма"], ["вода", "свет"], ["яма", "яма", "асфальт"], ["свет", "нет"], []]
    for labels in (["a", "b", "a", "b", "c", "c"], ["a", "b", "a", "b", "a", "b"]):       # multinomial and binary
        vec = TfidfVectorizer(analyzer=identity, sublinear_tf=True)
        clf = LogisticRegression(C=10).fit(vec.fit_transform(docs), labels)
        model = LinearTextModel.from_sklearn(sorted(set(labels)), vec, clf, temperature=1.7)
        queries = docs + [["неизвестно"], ["вода", "вода", "вода", "яма"]]
        s = clf.decision_function(vec.transform(queries))
        s = s if s.ndim == 2 else np.column_stack([-s / 2, s / 2])
        assert np.allclose(model.predict_proba(queries), softmax(s / 1.7, axis=1), atol=1e-9)


def test_urgency_anchors_never_hide_a_rule():
    """A rule tries a regex only when that regex's anchors occur: they must hold wherever it matches,
    and the regexes tried for a rule together match exactly where the rule's regex does."""
    from functools import reduce
    from operator import or_

    from nlp import urgency as U
    from nlp.text import WORD, fold

    phrases = ["второй день", "пятые сутки", "3 дня без воды", "несколько недель", "целую неделю", "уже неделю",
               "с понедельника", "с воскресенья", "который год", "сколько можно", "угроза жизни", "опасно для жизни",
               "может рухнуть", "может обрушиться", "утечка газа", "пахнет газом", "запах газа", "оголённые провода",
               "провода висят", "провод на земле", "открытый люк", "обрушение", "пожар", "искрит", "погибли", "дети",
               "ребёнок", "бабушка", "весь посёлок", "всю улицу", "всей станицы", "несколько домов", "сотни жителей",
               "тысячи людей", "целый квартал", "авария", "прорвало трубу", "подтопление", "ЧС", "эвакуация",
               "замерзаем", "мороз без отопления", "без тепла в мороз", "скорая не приехала", "скорая не едет",
               "десятый день", "седьмые сутки", "2 недели", "четыре месяца", "с пятницы"]
    texts = phrases + [e.text for e in corpus.load()]
    fired = set()
    for text in texts:
        folded = fold(text)
        mask = reduce(or_, map(U._group_mask, WORD.findall(folded)), 0)
        for (name, _, rule), checks in zip(U._RULES, U._CHECKS):
            matched = [pattern for _, pattern in checks if pattern.search(folded)]
            assert bool(matched) == bool(rule.search(folded)), (name, text)
            for pattern in matched:
                assert any(mask & need == need for need, p in checks if p is pattern), (name, pattern.pattern, text)
            if matched:
                fired.add(name)
                assert name in U.urgency(text)[1]
    assert fired == {name for name, _, _ in U._RULES}


def test_word_anchors_are_the_anchor_groups_in_a_word():
    from nlp import urgency as U
    from nlp.text import WORD, fold

    def naive(word: str) -> int:
        return sum(1 << i for i, group in enumerate(U._GROUPS)
                   if any(word.startswith(a[1:]) if a[0] == "^" else a in word for a in group))

    words = {w for e in corpus.load()[:800] for w in WORD.findall(fold(e.text))} | {"понедельника", "123", "а"}
    assert all(U.word_anchors(w) == naive(w) for w in words)
    assert any(U.word_anchors(w) for w in words)


def test_column_path_equals_the_feature_strings(model):
    """Prediction maps each word to vocabulary columns once (FeatureColumns); the probabilities must be
    those of the feature strings the models were trained on (featurize)."""
    import numpy as np

    from nlp.features import featurize

    texts = [e.text for e in corpus.load()[:600]] + ["", "   ", "1 2 3", "не не не вывозят мусор", "Щас ваще нет света!!!"]
    results = model.analyse_batch(texts)
    feats = [featurize(t, model.lexicon) for t in texts]
    ps = model.sector.predict_proba(feats)
    pc = model.complaint.predict_proba(feats)[:, model.complaint.classes.index("complaint")]
    for r, p, c, f in zip(results, ps, pc, feats):
        if f == ["empty"]:
            assert r.sector_confidence == 0.0
            continue
        assert r.sector == model.sector.classes[int(np.argmax(p))]
        assert abs(r.sector_confidence - p.max()) < 1e-4 and abs(r.complaint_score - c) < 1e-4


def test_raw_word_path_equals_the_folded_text_path(model):
    """The enricher hands the classifier the raw words of its one split; the results must be those
    of folding the whole text (links and mentions take the folded path)."""
    from nlp.text import split_words

    texts = [e.text for e in corpus.load()[::3]]
    texts += [t.upper() for t in texts[:100]] + ["https://vk.com/x Третий день нет воды", "[id1|Иван] яма на дороге", "", "  "]
    words = [split_words(t[:20_000])[1::2] for t in texts]
    assert model.analyse_batch(texts, words) == model.analyse_batch(texts)


def test_feature_table_starts_afresh_when_full(model):
    """The per-word table is bounded (a long-running worker meets an unbounded vocabulary): when it
    is full it starts afresh, and the columns stay the same."""
    import numpy as np

    from nlp.features import FeatureColumns
    from nlp.text import WORD, fold
    from nlp.urgency import word_anchors

    big = FeatureColumns(model._columns.vocabulary, model.lexicon, word_anchors)
    small = FeatureColumns(model._columns.vocabulary, model.lexicon, word_anchors)
    small.MAX_KEPT = 300
    texts = [e.text for e in corpus.load()]
    for start in range(0, 600, 10):
        tokens = [WORD.findall(fold(t)) for t in texts[start:start + 10]]
        a, b = big.batch(tokens), small.batch(tokens)
        assert len(small._ids) <= 300           # (or one batch's distinct words, if more)
        pairs = [sorted(zip(r[0].tolist(), r[1].tolist())) for r in (a, b)]
        assert pairs[0] == pairs[1] and np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])
    assert len(big._ids) > 300


def test_artefact_is_json_and_arrays_and_round_trips(tmp_path, model):
    """No pickle: the description is JSON, the arrays load with allow_pickle=False, and a saved
    and reloaded model predicts exactly what the original does."""
    import json

    import numpy as np

    path = what.save(model, tmp_path / "m.json")
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["format"] == what.ARTEFACT_FORMAT and meta["version"] == model.version
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
        assert {a.dtype.kind for a in arrays.values()} == {"f"}
    again = what.WhatModel.load(path)
    texts = ["третий день нет воды", "яма во дворе", "спасибо всем", "", "бродячие собаки покусали ребёнка"]
    assert [(w.sector, w.sector_confidence, w.needs_review) for w in again.analyse_batch(texts)] == \
        [(w.sector, w.sector_confidence, w.needs_review) for w in model.analyse_batch(texts)]
    meta["format"] = 99
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ValueError, match="train-sectors"):
        what.WhatModel.load(path)


def test_needs_review_marks_unsure_posts(model):
    results = model.analyse_batch(["", "нет горячей воды в доме третий день", "ну и что тут скажешь, опять то же самое"])
    assert results[0].needs_review                          # nothing to go on
    assert not results[1].needs_review
    assert all(r.needs_review == (r.sector_confidence < what.REVIEW_CONFIDENCE) for r in results[1:])


def test_labelled_set_scoring(tmp_path, model):
    import json

    rows = [("в подъезде третий день не работает лифт", "housing"), ("мусор не вывозят с площадки", "waste"),
            ("автобус 5 не ходит по расписанию", "transport"), ("мусор не вывозят с площадки у школы", "roads")]
    f = tmp_path / "set.jsonl"
    f.write_text("\n".join(json.dumps({"text": t, "sector": s}, ensure_ascii=False) for t, s in rows), encoding="utf-8")
    m = what.evaluate_labelled(model, what.load_labelled(f))
    assert m["n"] == 4 and m["accuracy"] == 0.75 and m["recall"]["roads"] == 0.0 and m["recall"]["housing"] == 1.0
    assert "4 messages, sector accuracy 0.750" in what.format_labelled("set", m)
    f.write_text('{"text": "x", "sector": "nonsense"}', encoding="utf-8")
    with pytest.raises(ValueError, match="sector"):
        what.load_labelled(f)
