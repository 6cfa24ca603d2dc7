"""Post in → enrichment out. Pure (no I/O after loading), never raises on bad input.

Input: a mapping with ``text`` and optional context a real feed has: ``region_hint`` (the region
of the source), ``place_hint`` (the community's home settlement), ``community`` (its name, e.g.
'Подслушано Усть-Лабинск', used as a place hint when no place_hint is given), ``geo``
``{"lat", "lon"}``. Output: :class:`Enrichment` (or :class:`Rejected` for input that is not a post
at all, which the stream sends to the dead-letter topic)."""
from __future__ import annotations

import gc
import re
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from geo.place_resolver import LOOKS_AT as RESOLVER_LOOKS_AT
from geo.place_resolver import Place, PlaceResolver
from nlp.text import split_words
from nlp.what import What, WhatModel

MAX_TEXT = 100_000
_COMMUNITY_NOISE = re.compile(
    r"(?i)\b(?:подслушано|типичный|типичная|типичное|новости|жалобы|жалоба|чат|мой|моя|наш|наша|жители|живу|в|во|и|что|случилось|"
    r"24|онлайн|life|live|инфо|info|сегодня|город|район|группа|барахолка|объявления|дтп|чп|че|происшествия)\b"
)


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass(slots=True)     # (not frozen: see nlp.what.What)
class Enrichment(What):
    """The 'what' (nlp.what.What fields) plus the 'where' and the model versions."""
    region: str | None
    municipality: str | None
    settlement: str | None
    settlement_type: str | None
    oktmo: str | None
    municipality_oktmo: str | None
    lat: float | None
    lon: float | None
    h3: str | None
    place_confidence: float
    place_method: str
    place_span: tuple[int, int] | None
    model_version: str

    def to_json(self) -> dict:
        d = asdict(self)
        d["urgency_reasons"] = list(self.urgency_reasons)
        d["place_span"] = list(self.place_span) if self.place_span else None
        return d


@lru_cache(maxsize=20_000)
def community_place(name: str | None) -> str | None:
    """'Подслушано Усть-Лабинск' → 'Усть-Лабинск' (what is left after the usual group words)."""
    if not name:
        return None
    left = _COMMUNITY_NOISE.sub(" ", name)
    left = re.sub(r"[|\-–—:!.,()\[\]«»\"#]+", " ", left)
    left = re.sub(r"\s+", " ", left).strip()
    return left or None


def _geo(value) -> tuple[float, float] | None:
    if not isinstance(value, dict):
        return None
    lat, lon = value.get("lat"), value.get("lon")
    # comparisons, not math.isfinite: NaN and ±inf fail them, and a huge integer does not overflow
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon))
    if not ok or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lat), float(lon)


def _str(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class Enricher:
    def __init__(self, what: WhatModel, places: PlaceResolver):
        self.what = what
        self.places = places
        self.version = f"{what.version}+geo-{places.h3_resolution}"
        # the per-word tables grow while enriching (numpy arrays replaced as they fill): one batch
        # at a time, whichever thread calls
        self._lock = threading.Lock()

    @classmethod
    def load(cls, cache_dir: Path | None = None, h3_resolution: int = 8, region_centre: bool = True,
             sector_model: Path | None = None) -> "Enricher":
        """``region_centre``: a street address with no settlement gets the region's centre as a
        low-confidence guess (``place_method`` 'region_centre'; TSUR_PLACE_REGION_CENTRE).
        ``sector_model``: a centre's own sector model artefact, used when the file exists
        (Settings.sector_model); otherwise the packaged one."""
        what = WhatModel.load(sector_model) if sector_model is not None and sector_model.exists() else WhatModel.load()
        enricher = cls(what, PlaceResolver.load(cache_dir=cache_dir, h3_resolution=h3_resolution,
                                                            region_centre=region_centre))
        # the gazetteer's lists and name indexes are millions of objects that live as long as the
        # process: out of the cyclic collector's scans (each full scan walked them all: ≈10 % of
        # the enrichment time). Reference counting still frees whatever is dropped later.
        gc.freeze()
        return enricher

    def enrich_batch(self, posts: list) -> list[Enrichment | Rejected]:
        with self._lock:
            return self._enrich_batch(posts)

    def _enrich_batch(self, posts: list) -> list[Enrichment | Rejected]:
        texts, ok = [], []
        for p in posts:
            if not isinstance(p, dict):
                ok.append(Rejected(f"a post must be an object, got {type(p).__name__}"))
                texts.append(None)
                continue
            text = p.get("text")
            if text is None:
                text = ""
            if not isinstance(text, str):
                ok.append(Rejected(f"field 'text' must be a string, got {type(text).__name__}"))
                texts.append(None)
                continue
            texts.append(text[:MAX_TEXT])
            ok.append(None)
        # one split of each text serves both: the resolver's tokens and the classifier's words
        pieces = [None if t is None else split_words(t[:RESOLVER_LOOKS_AT]) for t in texts]
        kept = [k for k, t in enumerate(texts) if t is not None]
        whats = iter(self.what.analyse_batch([texts[k] for k in kept], [
            pieces[k][1::2] if len(texts[k]) <= RESOLVER_LOOKS_AT else None for k in kept]))   # (words of the whole text only)
        out: list[Enrichment | Rejected] = []
        for p, t, pc, rej in zip(posts, texts, pieces, ok):
            if rej is not None:
                out.append(rej)
                continue
            w: What = next(whats)
            try:
                place = self.places.resolve(
                    t, region_hint=_str(p.get("region_hint")),
                    place_hint=_str(p.get("place_hint")) or community_place(_str(p.get("community"))),
                    geo=_geo(p.get("geo")), pieces=pc,
                )
            except Exception:  # a resolver bug must not lose the post: unknown place
                place = Place()
            out.append(Enrichment(
                w.sector, w.sector_confidence, w.runner_up, w.runner_up_confidence, w.complaint_score, w.is_complaint,
                w.urgency, w.urgency_reasons, w.needs_review, region=place.region, municipality=place.municipality, settlement=place.settlement,
                settlement_type=place.settlement_type, oktmo=place.oktmo, municipality_oktmo=place.municipality_oktmo,
                lat=place.lat, lon=place.lon, h3=place.h3, place_confidence=place.confidence,
                place_method=place.method, place_span=place.span, model_version=self.version,
            ))
        return out

    def enrich(self, post: dict) -> Enrichment | Rejected:
        return self.enrich_batch([post])[0]
