"""The body responsible for an incident, by (region, municipality, sector).

The table (`routing/data/routing.yaml`, format documented there) is keyed by the gazetteer's
names. Lookup order: municipality+sector → municipality+"*" → region+sector → region+"*" → the
fallback templates, so every (region, municipality, sector) gets a responsible body.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_ROUTING = Path(__file__).resolve().parent / "data" / "routing.yaml"
ANY_SECTOR = "*"
UNKNOWN_REGION = "регион не определён"

# Genitive of the municipality-type words of the gazetteer names ('Усть-Лабинский район' →
# 'Усть-Лабинского района', 'город Шахты' → 'города Шахты'); other names are used as they are.
_TYPE_SUFFIX = {"район": "района", "муниципальный округ": "муниципального округа",
                "городской округ": "городского округа"}
_TYPE_PREFIX = {"город": "города", "город-курорт": "города-курорта", "город-герой": "города-героя",
                "городской округ": "городского округа", "муниципальный округ": "муниципального округа"}
_ADJ_TYPE = re.compile(r"^(\S+)([сц])кий (" + "|".join(_TYPE_SUFFIX) + ")$")
_PREFIX_NAME = re.compile(r"^(" + "|".join(sorted(_TYPE_PREFIX, key=len, reverse=True)) + r") (\S.*)$")


def municipality_genitive_or_name(municipality: str) -> str:
    """'Кореновский район' → 'Кореновского района', 'город Тверь' → 'города Тверь', else the name."""
    if m := _ADJ_TYPE.match(municipality):
        return f"{m[1]}{m[2]}кого {_TYPE_SUFFIX[m[3]]}"
    if m := _PREFIX_NAME.match(municipality):
        return f"{_TYPE_PREFIX[m[1]]} {m[2]}"
    return municipality


@dataclass(frozen=True)
class Municipality:
    """A municipality's entries: sector (or "*") → body, and its 8-digit ОКТМО ('' if unknown)."""

    sectors: Mapping[str, str]
    oktmo: str = ""


@dataclass(frozen=True)
class Region:
    """A region's entries: sector (or "*") → body, and its municipalities by name."""

    sectors: Mapping[str, str]
    municipalities: Mapping[str, Municipality]


class RoutingTable:
    """Region/municipality/sector → responsible body; see the module docstring."""

    def __init__(self, regions: Mapping[str, Region], municipality_template: str, region_template: str) -> None:
        self.regions = dict(regions)
        self.municipality_template = municipality_template
        self.region_template = region_template

    @classmethod
    def load(cls, path: Path | str = DEFAULT_ROUTING) -> RoutingTable:
        """Read and check the YAML table (see the format at the top of the file)."""
        path = Path(path)
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        fallback = doc.get("fallback") or {}
        templates = {"municipality": "municipality_genitive_or_name", "region": "region"}
        for key, placeholder in templates.items():
            t = fallback.get(key)
            try:
                ok = isinstance(t, str) and t.format(**{placeholder: "x"}) != t
            except (KeyError, IndexError, AttributeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{path}: fallback.{key} must be a template using {{{placeholder}}} only, got {t!r}")
        regions = {}
        for name, block in (doc.get("regions") or {}).items():
            block = block or {}
            municipalities = {}
            for mname, mblock in (block.get("municipalities") or {}).items():
                mblock = mblock or {}
                oktmo = mblock.get("oktmo", "")
                if not (oktmo == "" or (isinstance(oktmo, str) and re.fullmatch(r"\d{8}", oktmo))):
                    raise ValueError(f"{path}: {name} / {mname}: oktmo must be 8 digits in quotes "
                                     f"(\"03657000\"), got {oktmo!r}")
                municipalities[str(mname)] = Municipality(_sectors(mblock, f"{path}: {name} / {mname}"), oktmo)
            regions[str(name)] = Region(_sectors(block, f"{path}: {name}"), municipalities)
        return cls(regions, fallback["municipality"], fallback["region"])

    def responsible_body(self, region: str | None, municipality: str | None, sector: str | None) -> str:
        """The responsible body; an empty or None sector matches only "*" entries."""
        r = self.regions.get(region or "")
        m = r.municipalities.get(municipality or "") if r else None
        for entries in (m.sectors if m else None, r.sectors if r else None):
            if entries:
                for key in (sector, ANY_SECTOR):
                    if key and key in entries:
                        return entries[key]
        if municipality:
            return self.municipality_template.format(
                municipality_genitive_or_name=municipality_genitive_or_name(municipality))
        return self.region_template.format(region=region or UNKNOWN_REGION)

    def rows(self) -> Iterator[tuple[str, str, str, str]]:
        """(region, municipality ОКТМО or '', sector or '' for "*", body) for every entry of the
        table, to seed a ClickHouse table; region-level entries have ОКТМО ''."""
        for rname, r in self.regions.items():
            for sector, body in r.sectors.items():
                yield rname, "", "" if sector == ANY_SECTOR else sector, body
            for m in r.municipalities.values():
                for sector, body in m.sectors.items():
                    yield rname, m.oktmo, "" if sector == ANY_SECTOR else sector, body


def _sectors(block: Mapping, where: str) -> dict[str, str]:
    sectors = block.get("sectors") or {}
    if not isinstance(sectors, Mapping):
        raise ValueError(f"{where}: `sectors` must be a mapping sector → body")
    for sector, body in sectors.items():
        if not isinstance(body, str) or not body.strip():
            raise ValueError(f"{where}: sector {sector!r} needs a non-empty body name, got {body!r}")
    return {str(s): b.strip() for s, b in sectors.items()}
