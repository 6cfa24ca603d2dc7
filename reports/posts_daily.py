"""Daily post counts per region and source: the smallest daily product, and the data-quality
gate the other daily products reuse (a day with raw posts must produce report rows)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from reports.quality import DataQualityError
from warehouse.queries import named_query


def raw_posts_on(client, day: date) -> int:
    return int(client.query(
        "SELECT uniqExact(post_id) FROM posts_raw WHERE toDate(created_at, 'Europe/Moscow') = {day:Date}",
        parameters={"day": day},
    ).result_rows[0][0])


def build(client, day: date) -> int:
    """Replace the day's rows in report_posts_daily; return the number of rows written."""
    client.command("DELETE FROM report_posts_daily WHERE day = {day:Date}", parameters={"day": day})
    client.command(named_query("posts_daily"), parameters={"day": day, "computed_at": datetime.now(timezone.utc)})
    return int(client.query(
        "SELECT count() FROM report_posts_daily FINAL WHERE day = {day:Date}", parameters={"day": day}
    ).result_rows[0][0])


def check(client, day: date) -> dict:
    """Fail if the day had posts but the report is empty or does not add up."""
    raw = raw_posts_on(client, day)
    reported = int(client.query(
        "SELECT sum(posts) FROM report_posts_daily FINAL WHERE day = {day:Date}", parameters={"day": day}
    ).result_rows[0][0] or 0)
    if raw != reported:
        raise DataQualityError(f"{day}: posts_raw has {raw} posts but report_posts_daily counts {reported}")
    return {"day": day.isoformat(), "posts": raw}
