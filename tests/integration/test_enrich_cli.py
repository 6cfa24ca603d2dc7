"""`tsur enrich`: JSONL in, one JSONL line out per input line, same order, never crashes."""
import json
import subprocess

from tests.conftest import tsur_cmd

REQUIRED = ("sector", "sector_confidence", "complaint_score", "urgency", "region", "municipality", "settlement",
            "oktmo", "lat", "lon", "h3", "place_confidence")


def test_enrich_stdin_to_stdout(tsur_env):
    lines = [
        json.dumps({"id": 1, "text": "В Шахтах третий день нет воды, дети без воды!", "region_hint": "Ростовская область"}, ensure_ascii=False),
        json.dumps({"id": "b", "text": ""}),
        "not json at all",
        json.dumps({"id": 4, "text": 5}),
        json.dumps({"id": 5, "text": "Опять нет света", "community": "Подслушано Усть-Лабинск"}, ensure_ascii=False),
    ]
    r = subprocess.run(tsur_cmd("enrich", "-"), input="\n".join(lines) + "\n", env=tsur_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = [json.loads(l) for l in r.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "b", None, 4, 5]
    for o in out:
        assert all(k in o for k in REQUIRED)
    assert out[0]["sector"] == "housing" and out[0]["settlement"] == "Шахты" and out[0]["oktmo"] == "60740000001"
    assert out[0]["urgency"] > 0.5 and out[0]["is_complaint"]
    assert out[1]["sector"] == "other" and out[1]["place_confidence"] == 0.0
    assert "error" in out[2] and "error" in out[3]
    assert out[4]["sector"] == "energy" and out[4]["settlement"] == "Усть-Лабинск"
