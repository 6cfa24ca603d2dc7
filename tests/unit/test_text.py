import json

from razdel import tokenize

from nlp.corpus import CORPUS_DIR
from nlp.text import fold, lemmas, tokens, words


def test_fold_handles_social_media_spelling():
    assert fold("УЖАААС!!! Ёлки") == "ужас!!! елки"
    assert "http" not in fold("смотрите https://vk.com/wall-1_2 тут")
    assert fold("#нетводы @admin") .split() == ["нетводы"]


def test_words_map_slang_and_latin_lookalikes():
    assert words("Щас ваще нету воды") == ["сейчас", "вообще", "нет", "воды"]
    assert words("пoликлиника") == ["поликлиника"]          # Latin 'o' inside a Cyrillic word
    assert words("в Каменске-Шахтинском из-за ямы") == ["в", "каменске-шахтинском", "из-за", "ямы"]


def test_lemmas_cover_all_parses():
    assert lemmas("стали")[0] in ("стать", "сталь") and {"стать", "сталь"} <= set(lemmas("стали"))
    assert "шахта" in lemmas("шахтах")


def test_word_tokens_agree_with_razdel_on_the_corpus():
    texts = [json.loads(l)["text"] for p in sorted(CORPUS_DIR.glob("*.jsonl")) for l in p.read_text().splitlines() if l.strip()]
    same = 0
    for t in texts:
        ours = [w for w in tokens(t) if not any(c.isdigit() for c in w)]
        theirs = [fold(x.text) for x in tokenize(t)]
        theirs = [w for w in theirs if w.replace("-", "").isalpha()]
        same += ours == theirs
    assert same / len(texts) >= 0.98, same / len(texts)


def test_folding_word_by_word_equals_folding_the_text_where_it_says_so():
    from nlp.text import WORD, fold_word, folds_by_word, split_words

    texts = [json.loads(l)["text"] for p in sorted(CORPUS_DIR.glob("*.jsonl")) for l in p.read_text().splitlines() if l.strip()]
    texts += [t.upper() for t in texts[:300]] + ["ТРЕТИЙ деееень без ВОДЫ!!! #НетВоды Ёлки-палки", "", "12-й дом, кв. 5"]
    by_word = [t for t in texts if folds_by_word(t)]
    assert len(by_word) > 0.8 * len(texts)
    for t in by_word:
        assert [fold_word(w) for w in split_words(t)[1::2]] == WORD.findall(fold(t)), t
    # links, mentions and the two letters whose lower case is longer or lands inside a word are not
    for t in ["смотрите vk.com/club1 тут", "пишите @admin", "[id1|Иван], ответьте", "İzmir", "5 \u212aм"]:
        assert not folds_by_word(t)
