"""A linear text model in the scikit-learn way (fit / predict): TF-IDF over our features
(nlp.features) + multinomial logistic regression, with a temperature fitted on cross-validated
scores so that confidences are calibrated. Used for the sector and for complaint detection.

Training uses scikit-learn; the fitted model keeps only what prediction needs (vocabulary, idf,
coefficients) as numpy arrays, and predicts with numpy alone: the stream worker never imports
scikit-learn or SciPy (≈ 80 MB and 2 s of start-up saved), and the result equals scikit-learn's
TfidfVectorizer(sublinear_tf, l2) + LogisticRegression.decision_function (tests/unit/test_what.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np


def identity(features: list[str]) -> list[str]:
    return features


def _vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=identity, sublinear_tf=True, min_df=1, dtype=np.float32)


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    def nll(t: float) -> float:
        return -log_softmax(scores / t, axis=1)[np.arange(len(y)), y].mean()

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def count_columns(cols: np.ndarray, lengths: list[int], width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document, column, count) of a batch's feature columns (``cols``: every document's columns one
    after another, ``lengths`` per document; -1 = unknown, dropped), sorted by document then column."""
    docs = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    known = cols >= 0
    return count_pairs(docs[known], cols[known], width)


def count_pairs(docs: np.ndarray, cols: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document, column, count) of (document, column) pairs, sorted by document then column."""
    uniq, counts = np.unique(docs * width + cols, return_counts=True)
    doc, col = np.divmod(uniq, width)
    return doc, col, counts


@dataclass
class LinearTextModel:
    classes: list[str]
    vocabulary: dict[str, int]          # feature → column
    idf: np.ndarray                     # (n_features,)
    coef: np.ndarray                    # (n_features, n_scores): 1 score column for two classes, else one per class
    intercept: np.ndarray               # (n_scores,)
    temperature: float = 1.0
    info: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, feature_lists: list[list[str]], labels: list[str], C: float = 10.0, seed: int = 0) -> "LinearTextModel":
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        classes = sorted(set(labels))
        y = np.array([classes.index(l) for l in labels])
        # cross-validated scores -> temperature (calibration without touching the held-out split)
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        oof = np.zeros((len(y), len(classes)), dtype=np.float64)
        for tr, va in folds.split(np.zeros(len(y)), y):
            vec = _vectorizer()
            X = vec.fit_transform([feature_lists[i] for i in tr])
            clf = LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(X, y[tr])
            s = clf.decision_function(vec.transform([feature_lists[i] for i in va]))
            oof[va] = s if s.ndim == 2 else np.column_stack([-s / 2, s / 2])
        temperature = _fit_temperature(oof, y)
        vec = _vectorizer()
        X = vec.fit_transform(feature_lists)
        clf = LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(X, y)
        cv_acc = float((oof.argmax(1) == y).mean())
        return cls.from_sklearn(classes, vec, clf, temperature,
                                {"C": C, "n_train": len(y), "n_features": X.shape[1], "cv_accuracy": cv_acc})

    @classmethod
    def from_sklearn(cls, classes: list[str], vectorizer, clf, temperature: float = 1.0, info: dict | None = None) -> "LinearTextModel":
        """Keep what prediction needs from a fitted TfidfVectorizer + LogisticRegression."""
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        return cls(list(classes), vocabulary, vectorizer.idf_.astype(np.float64), clf.coef_.T.astype(np.float64).copy(),
                   clf.intercept_.astype(np.float64), temperature, info or {})

    # ------------------------------------------------------------------ artefact (no pickle)
    def to_arrays(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able description, named numpy arrays) of the fitted model: the features in column
        order, classes, temperature and info as JSON; idf, coefficients and intercept as arrays."""
        features = [""] * len(self.vocabulary)
        for f, j in self.vocabulary.items():
            features[j] = f
        meta = {"classes": self.classes, "temperature": self.temperature, "info": self.info, "features": features}
        arrays = {f"{prefix}.idf": self.idf, f"{prefix}.coef": self.coef, f"{prefix}.intercept": self.intercept}
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: dict, arrays, prefix: str) -> "LinearTextModel":
        features = meta["features"]
        coef = np.asarray(arrays[f"{prefix}.coef"], dtype=np.float64)
        if coef.shape[0] != len(features):
            raise ValueError(f"model {prefix!r}: {coef.shape[0]} coefficient rows for {len(features)} features")
        return cls(list(meta["classes"]), {f: j for j, f in enumerate(features)},
                   np.asarray(arrays[f"{prefix}.idf"], dtype=np.float64), coef,
                   np.asarray(arrays[f"{prefix}.intercept"], dtype=np.float64), float(meta["temperature"]), dict(meta["info"]))

    def decision_function(self, feature_lists: list[list[str]]) -> np.ndarray:
        """TF-IDF (1 + log tf, × idf, l2-normalised) · coefficients + intercept, per document."""
        flat = list(chain.from_iterable(feature_lists))
        # feature → column for the whole batch in one C-level pass; unknown features are -1
        cols = np.fromiter(map(self.vocabulary.get, flat, repeat(-1, len(flat))), dtype=np.int64, count=len(flat))
        return self.scores(*count_columns(cols, [len(f) for f in feature_lists], len(self.idf)), len(feature_lists))

    def scores(self, doc: np.ndarray, col: np.ndarray, counts: np.ndarray, n_docs: int) -> np.ndarray:
        """Decision scores from the (document, column, count) triples of a batch (``count_columns``)."""
        scores = np.tile(self.intercept, (n_docs, 1))
        if len(col) == 0:
            return scores
        w = (1.0 + np.log(counts)) * self.idf[col]
        w /= np.sqrt(np.bincount(doc, weights=w * w, minlength=n_docs))[doc]
        starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        scores[doc[starts]] += np.add.reduceat(self.coef[col] * w[:, None], starts, axis=0)
        return scores

    def proba(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities from decision scores."""
        if scores.shape[1] == 1:
            scores = np.column_stack([-scores[:, 0] / 2, scores[:, 0] / 2])
        return softmax(scores / self.temperature)

    def predict_proba(self, feature_lists: list[list[str]]) -> np.ndarray:
        if not feature_lists:
            return np.zeros((0, len(self.classes)))
        return self.proba(self.decision_function(feature_lists))

    def predict(self, feature_lists: list[list[str]]) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(feature_lists).argmax(1)]
