"""The 'what' of a post: sector (calibrated confidence + runner-up), complaint score, urgency.

``WhatModel.load()`` reads the versioned artefact nlp/models/what.json + what.npz (JSON and numpy
arrays, no pickle: loading a model never runs code), trained reproducibly from
the labelled corpus by ``tsur train-sectors`` (``train``): a sector model on the complaints of the
training split and a complaint-vs-noise model on all training posts. The held-out split is
never used for fitting; ``evaluate`` reports accuracy, macro-F1 and a confusion matrix on it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp import corpus
from nlp.classifier import LinearTextModel, count_pairs
from nlp.features import MAX_WORDS, FeatureColumns, featurize
from nlp.lexicon import LEXICON_PATH, TOPICS_PATH, Lexicon
from nlp.text import WORD, fold, folds_by_word
from nlp.urgency import urgency, word_anchors

MODEL_PATH = Path(__file__).resolve().parent / "models" / "what.json"   # + what.npz beside it (the arrays)
ARTEFACT_FORMAT = 1
FEATURES_VERSION = "f1"          # bump when nlp.features / nlp.text change the feature space
COMPLAINT_THRESHOLD = 0.5
MIN_CONFIDENCE_FOR_SECTOR = 0.0  # below: 'other' (kept 0: the runner-up carries the doubt)
# below this calibrated sector confidence a post `needs_review`: an operator checks its sector
# (docs/enrichment.md gives the share flagged and the accuracy on each side, measured)
REVIEW_CONFIDENCE = 0.6


@dataclass(slots=True)     # (not frozen: a frozen dataclass sets each field through object.__setattr__,
class What:                # 4x slower to build; results are built by the thousand a second)
    sector: str
    sector_confidence: float
    runner_up: str
    runner_up_confidence: float
    complaint_score: float
    is_complaint: bool
    urgency: float
    urgency_reasons: tuple[str, ...]
    needs_review: bool


class WhatModel:
    def __init__(self, sector: LinearTextModel, complaint: LinearTextModel, lexicon: Lexicon, version: str):
        self.sector = sector
        self.complaint = complaint
        self.lexicon = lexicon
        self.version = version
        self._complaint_idx = complaint.classes.index("complaint")
        # prediction: one joint vocabulary of both models, each word's columns computed once
        joint = sorted(set(sector.vocabulary) | set(complaint.vocabulary))
        self._width = len(joint)
        self._columns = FeatureColumns({f: i for i, f in enumerate(joint)}, lexicon, word_anchors)
        self._sector_cols, self._complaint_cols = (np.array([m.vocabulary.get(f, -1) for f in joint], dtype=np.int64)
                                                   for m in (sector, complaint))

    # ------------------------------------------------------------------ use
    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "WhatModel":
        arrays_path = path.with_suffix(".npz")
        if not path.exists() or not arrays_path.exists():
            raise FileNotFoundError(f"no trained model at {path} (+ {arrays_path.name}); run `tsur train-sectors`")
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("format") != ARTEFACT_FORMAT:
            raise ValueError(f"{path}: artefact format {meta.get('format')!r}, this code reads {ARTEFACT_FORMAT}; "
                             "run `tsur train-sectors`")
        with np.load(arrays_path, allow_pickle=False) as arrays:
            sector, complaint = (LinearTextModel.from_arrays(meta["models"][k], arrays, k) for k in ("sector", "complaint"))
        return cls(sector, complaint, Lexicon.load(), meta["version"])

    def analyse_batch(self, texts: list[str], words: list[list[str] | None] | None = None) -> list[What]:
        """``words``: the raw word tokens of each whole text (``nlp.text.split_words(text)[1::2]``, or
        None) when the caller has split the texts already; used for texts that ``folds_by_word``."""
        folded: list[str | None] = []
        tokens: list[list[str]] = []
        for k, t in enumerate(texts):
            t = t or ""
            w = words[k] if words is not None else None
            # (the urgency anchors are then the batch's, which cover a text's first MAX_WORDS words)
            if w is not None and len(w) <= MAX_WORDS and folds_by_word(t):
                folded.append(None)             # folded only if an urgency rule may fire
                tokens.append(w)
            else:
                f = fold(t[:200_000])
                folded.append(f)
                tokens.append(WORD.findall(f))
        docs, cols, empties, anchors = self._columns.batch(tokens)
        doc, joint, counts = count_pairs(docs, cols, self._width)

        def proba(model: LinearTextModel, own: np.ndarray) -> np.ndarray:
            col = own[joint]                    # joint vocabulary → the model's columns (-1: not its feature)
            keep = col >= 0
            return model.proba(model.scores(doc[keep], col[keep], counts[keep], len(texts)))

        ps = proba(self.sector, self._sector_cols)
        pc = proba(self.complaint, self._complaint_cols)[:, self._complaint_idx]
        top2 = np.argsort(-ps, axis=1, kind="stable")[:, :2].tolist()
        out = []
        for text, fo, toks, empty, anchor, p, c, (best, second) in zip(
                texts, folded, tokens, empties.tolist(), anchors.tolist(), ps.tolist(), pc.tolist(), top2):
            # the batch's anchors cover a post's first MAX_WORDS words: longer posts count their own
            u, reasons = urgency(text or "", fo, toks, anchor if len(toks) <= MAX_WORDS else None)
            if empty:  # nothing to go on: unknown, low confidence
                out.append(What("other", 0.0, "other", 0.0, 0.0, False, 0.0, (), True))
                continue
            out.append(What(
                sector=self.sector.classes[best], sector_confidence=round(p[best], 4),
                runner_up=self.sector.classes[second], runner_up_confidence=round(p[second], 4),
                complaint_score=round(c, 4), is_complaint=c >= COMPLAINT_THRESHOLD,
                urgency=u, urgency_reasons=tuple(reasons), needs_review=p[best] < REVIEW_CONFIDENCE,
            ))
        return out

    def analyse(self, text: str) -> What:
        return self.analyse_batch([text])[0]


# ---------------------------------------------------------------------- training
def corpus_version(examples: list[corpus.Example]) -> str:
    h = hashlib.sha256(FEATURES_VERSION.encode())
    for e in examples:
        h.update(f"{e.sector}\t{int(e.complaint)}\t{e.text}\n".encode())
    for path in (LEXICON_PATH, TOPICS_PATH):
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()[:10]


def train(examples: list[corpus.Example] | None = None, C_sector: float = 10.0, C_complaint: float = 5.0,
          extra: list[corpus.Example] | None = None) -> WhatModel:
    """Fit on the training split of ``examples`` (the corpus) plus ``extra`` (operators' corrections:
    always training data, so the held-out split stays the corpus's own and comparable)."""
    examples = corpus.load() if examples is None else examples
    train_set, _ = corpus.split(examples)
    extra = list(extra or ())
    train_set = train_set + extra
    lexicon = Lexicon.load()
    feats = [featurize(e.text, lexicon) for e in train_set]
    sector_idx = [i for i, e in enumerate(train_set) if e.complaint]
    sector = LinearTextModel.fit([feats[i] for i in sector_idx], [train_set[i].sector for i in sector_idx], C=C_sector)
    complaint = LinearTextModel.fit(feats, ["complaint" if e.complaint else "noise" for e in train_set], C=C_complaint)
    return WhatModel(sector, complaint, lexicon, f"what-{corpus_version(examples + extra)}")


def save(model: WhatModel, path: Path = MODEL_PATH) -> Path:
    """Write the artefact: ``path`` (JSON: version, classes, features, info) and the arrays beside it
    (``.npz``, read with allow_pickle=False)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta: dict = {"format": ARTEFACT_FORMAT, "version": model.version, "features_version": FEATURES_VERSION, "models": {}}
    arrays: dict[str, np.ndarray] = {}
    for name, m in (("sector", model.sector), ("complaint", model.complaint)):
        meta["models"][name], a = m.to_arrays(name)
        arrays.update(a)
    np.savez_compressed(path.with_suffix(".npz"), **arrays)
    path.write_text(json.dumps(meta, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path


def evaluate(model: WhatModel, examples: list[corpus.Example] | None = None) -> dict:
    """Scores on the held-out split: sector on complaints, complaint detection on all."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    examples = corpus.load() if examples is None else examples
    _, held = corpus.split(examples)
    results = model.analyse_batch([e.text for e in held])
    comp = [(e, r) for e, r in zip(held, results) if e.complaint]
    y_true = [e.sector for e, _ in comp]
    y_pred = [r.sector for _, r in comp]
    labels = list(corpus.SECTORS)
    return {
        "n_heldout": len(held),
        "n_heldout_complaints": len(comp),
        "sector_accuracy": accuracy_score(y_true, y_pred),
        "sector_macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "complaint_accuracy": accuracy_score([e.complaint for e in held], [r.is_complaint for r in results]),
    }


def load_labelled(path: Path) -> list[tuple[str, str]]:
    """(text, sector) of a labelled JSONL file (one object a line with 'text' and 'sector'): a
    centre's own checked messages, for ``evaluate_labelled``. Unknown sectors are an error."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        d = json.loads(line)
        if not isinstance(d, dict) or not isinstance(d.get("text"), str) or d.get("sector") not in corpus.SECTORS:
            raise ValueError(f"{path}:{n}: need an object with 'text' and 'sector' (one of {', '.join(corpus.SECTORS)})")
        rows.append((d["text"], d["sector"]))
    return rows


def evaluate_labelled(model: WhatModel, rows: list[tuple[str, str]]) -> dict:
    """Sector accuracy, macro-F1 over the sectors the set holds, per-sector recall, and how the
    review flag splits the set (share flagged; accuracy of the flagged and of the rest)."""
    from sklearn.metrics import f1_score

    results = model.analyse_batch([t for t, _ in rows])
    gold = [s for _, s in rows]
    pred = [r.sector for r in results]
    labels = sorted(set(gold))
    ok = [g == p for g, p in zip(gold, pred)]
    flagged = [o for o, r in zip(ok, results) if r.needs_review]
    sure = [o for o, r in zip(ok, results) if not r.needs_review]
    return {
        "n": len(rows), "accuracy": sum(ok) / max(1, len(ok)),
        "macro_f1": f1_score(gold, pred, labels=labels, average="macro", zero_division=0),
        "recall": {l: sum(o for o, g in zip(ok, gold) if g == l) / gold.count(l) for l in labels},
        "review_share": len(flagged) / max(1, len(ok)),
        "review_accuracy": sum(flagged) / len(flagged) if flagged else None,
        "sure_accuracy": sum(sure) / len(sure) if sure else None,
    }


def format_labelled(name: str, m: dict) -> str:
    acc = lambda v: "-" if v is None else f"{v:.3f}"   # noqa: E731
    return (f"{name}: {m['n']} messages, sector accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} "
            f"({len(m['recall'])} sectors); recall " + ", ".join(f"{k} {v:.2f}" for k, v in m["recall"].items())
            + f"; needs_review {m['review_share']:.1%} (accuracy {acc(m['review_accuracy'])} flagged, "
            f"{acc(m['sure_accuracy'])} the rest)")


TOLERANCE = 0.01     # accuracy or macro-F1 lower by more than this on any set: the candidate is worse


def scores(held: dict, labelled: dict[str, dict]) -> dict[str, tuple[float, float]]:
    """(accuracy, macro-F1) per set, from ``evaluate`` (the held-out split) and ``evaluate_labelled``."""
    out = {"corpus held-out": (held["sector_accuracy"], held["sector_macro_f1"])}
    out.update({name: (m["accuracy"], m["macro_f1"]) for name, m in labelled.items()})
    return out


def compare(current: WhatModel | None, new: WhatModel, new_scores: dict[str, tuple[float, float]],
            evals: dict[str, list[tuple[str, str]]]) -> tuple[str, bool]:
    """The deployed model and a candidate (its ``scores``, computed once by the caller) side by side:
    accuracy and macro-F1 on the corpus's held-out split and on each labelled set; and whether the
    candidate is worse on any of them (by more than ``TOLERANCE``: the noise of a few posts in a
    small class), which refuses its publication."""
    cur = scores(evaluate(current), {k: evaluate_labelled(current, rows) for k, rows in evals.items()}) if current else None
    nxt = new_scores
    width = max(len(k) for k in nxt)
    lines = [f"{'':{width}}  {'deployed ' + (current.version if current else '-'):>28}  {'candidate ' + new.version:>28}",
             f"{'':{width}}  {'accuracy  macro-F1':>28}  {'accuracy  macro-F1':>28}"]
    worse = False
    for k, (acc, f1) in nxt.items():
        c = cur[k] if cur else None
        lines.append(f"{k:{width}}  {(f'{c[0]:.3f}     {c[1]:.3f}' if c else '-'):>28}  {f'{acc:.3f}     {f1:.3f}':>28}")
        if c and (acc < c[0] - TOLERANCE or f1 < c[1] - TOLERANCE):
            worse = True
    return "\n".join(lines), worse


def format_report(m: dict) -> str:
    short = [l[:5] for l in m["labels"]]
    lines = [
        f"held-out: {m['n_heldout']} posts ({m['n_heldout_complaints']} complaints)",
        f"sector accuracy {m['sector_accuracy']:.3f}   macro-F1 {m['sector_macro_f1']:.3f}   "
        f"complaint detection accuracy {m['complaint_accuracy']:.3f}",
        "confusion matrix (rows = true, columns = predicted):",
        "            " + " ".join(f"{s:>5}" for s in short),
    ]
    for label, row in zip(m["labels"], m["confusion"]):
        lines.append(f"{label:<12}" + " ".join(f"{v:>5}" for v in row))
    return "\n".join(lines)
