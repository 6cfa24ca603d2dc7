"""A linear text model in the scikit-learn way (fit / predict): TF-IDF over our features
(nlp.features) + multinomial logistic regression, with a temperature fitted on cross-validated
scores so that confidences are calibrated. Used for the sector and for complaint detection."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold


def identity(features: list[str]) -> list[str]:
    return features


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=identity, sublinear_tf=True, min_df=1, dtype=np.float32)


def _fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    def nll(t: float) -> float:
        return -log_softmax(scores / t, axis=1)[np.arange(len(y)), y].mean()

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


@dataclass
class LinearTextModel:
    classes: list[str]
    vectorizer: TfidfVectorizer
    clf: LogisticRegression
    temperature: float = 1.0
    info: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, feature_lists: list[list[str]], labels: list[str], C: float = 10.0, seed: int = 0) -> "LinearTextModel":
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
        return cls(classes, vec, clf, temperature, {"C": C, "n_train": len(y), "n_features": X.shape[1], "cv_accuracy": cv_acc})

    def predict_proba(self, feature_lists: list[list[str]]) -> np.ndarray:
        if not feature_lists:
            return np.zeros((0, len(self.classes)))
        s = self.clf.decision_function(self.vectorizer.transform(feature_lists))
        if s.ndim == 1:
            s = np.column_stack([-s / 2, s / 2])
        return softmax(s / self.temperature, axis=1)

    def predict(self, feature_lists: list[list[str]]) -> list[str]:
        return [self.classes[i] for i in self.predict_proba(feature_lists).argmax(1)]
