"""incident_cells_daily (sql/migrations/0007_cell_aggregates.sql), the dashboards' hot aggregate, holds
for every day × region × ОКТМО × sector × H3 cell (resolutions 7 and 8) exactly the incidents and posts
of `incidents FINAL`, with the cells computed here independently (the h3 library), also after
incidents are written again as new versions or duplicates and after the back-fill is re-run."""
from collections import defaultdict
from datetime import timedelta

import h3
import pytest

from tests.sample_warehouse import copy_store
from warehouse.migrations import discover
from warehouse.session import chdb_store_path, warehouse_session


def cell_pair(cell: str) -> tuple[int, int]:
    """(resolution-8 cell as stored, its resolution-7 parent); 0 for a missing or unusable cell."""
    if not cell or not h3.is_valid_cell(cell) or h3.get_resolution(cell) < 7:
        return 0, 0
    return h3.str_to_int(cell), h3.str_to_int(h3.cell_to_parent(cell, 7))


def expected(client) -> dict:
    """Incidents and posts per (region, day, resolution, sector, oktmo, cell) from incidents FINAL."""
    ids, posts = defaultdict(set), defaultdict(int)
    rows = client.query("SELECT incident_id, region, toDate(first_seen, 'Europe/Moscow'), sector, oktmo, h3, posts_count "
                        "FROM incidents FINAL").result_rows
    for incident_id, region, day, sector, oktmo, cell, count in rows:
        for resolution, h3_cell in zip((8, 7), cell_pair(cell)):
            key = (region, day, resolution, sector, oktmo, h3_cell)
            ids[key].add(incident_id)
            posts[key] += count
    return {k: (len(v), posts[k]) for k, v in ids.items()}


def aggregate(client) -> dict:
    rows = client.query("SELECT region, day, resolution, sector, oktmo, h3_cell, uniqExactMerge(incidents), "
                        "arraySum(maxMapMerge(posts).2) FROM incident_cells_daily "
                        "GROUP BY region, day, resolution, sector, oktmo, h3_cell").result_rows
    return {tuple(r[:6]): (int(r[6]), int(r[7])) for r in rows}


def backfill_statement() -> str:
    (mig,) = [m for m in discover() if m.name == "cell_aggregates"]
    (stmt,) = [s for s in mig.statements() if s.startswith("INSERT INTO incident_cells_daily")]
    return stmt


@pytest.fixture
def store(sample_store, tmp_path):
    return copy_store(chdb_store_path(sample_store["dsn"]), tmp_path / "store")


def test_the_aggregate_equals_incidents_final_for_every_day_and_cell(store):
    with warehouse_session(store) as c:
        want = expected(c)
        assert len({k[1] for k in want}) >= 3 and sum(1 for k in want if k[5]) > 20     # several days, many real cells
        assert aggregate(c) == want
        # the cells are those of incident_days (the dashboards' live heat map reads it)
        days = c.query("SELECT region, day, sector, h3_cell, uniqExact(incident_key) FROM incident_days "
                       "GROUP BY region, day, sector, h3_cell").result_rows
        merged = c.query("SELECT region, day, sector, h3_cell, uniqExactMerge(incidents) FROM incident_cells_daily "
                         "WHERE resolution = 8 GROUP BY region, day, sector, h3_cell").result_rows
        assert sorted(days) == sorted(merged)


def test_versions_duplicates_and_a_second_backfill_count_once(store):
    with warehouse_session(store) as c:
        result = c.query("SELECT * FROM incidents FINAL ORDER BY incident_id LIMIT 40")
        columns, rows = list(result.column_names), [list(r) for r in result.result_rows]
        count, updated = columns.index("posts_count"), columns.index("updated_at")
        newer = [r[:count] + [r[count] + 3] + r[count + 1:updated] + [r[updated] + timedelta(hours=1)] + r[updated + 1:]
                 for r in rows]
        c.insert("incidents", newer, column_names=columns)           # a newer version: more posts
        c.insert("incidents", newer[:10], column_names=columns)      # the same version again (a replayed batch)
        c.insert("incidents", rows[10:20], column_names=columns)     # an older version arriving late
        c.command(backfill_statement())                              # the back-fill run a second time
        versions, final = c.query("SELECT (SELECT count() FROM incidents), (SELECT count() FROM incidents FINAL)").result_rows[0]
        assert versions >= final + 60                                # the duplicates are really there, unmerged
        want = expected(c)
        assert aggregate(c) == want
        total = c.query("SELECT uniqExact(incident_id), sum(posts_count) FROM incidents FINAL").result_rows[0]
        merged = c.query("SELECT uniqExactMerge(incidents), arraySum(maxMapMerge(posts).2) FROM incident_cells_daily "
                         "WHERE resolution = 8").result_rows[0]
        assert tuple(map(int, merged)) == tuple(map(int, total))
