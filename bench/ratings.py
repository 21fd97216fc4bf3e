"""Satisfaction drill-down over 10 million ratings on PostgreSQL.

Loads the aggregates that 10 million ratings would leave (per employee per day, then per unit per day, and the
same per Jalali month, as the projection keeps them), made
directly with `generate_series` rather than by publishing 10 million events, then times
`GET /api/v1/satisfaction` in process (FastAPI app, real PostgreSQL, no network hop) over random subtrees,
levels and periods, and prints p50/p95/p99.

    .venv/bin/python bench/ratings.py [--url postgresql+asyncpg://postgres@127.0.0.1:5432/hub_bench_ratings] [--queries 500]

Shape: 5 agencies x 10 provinces x 20 counties = 1,000 units, 10 employees each, every day of 1405;
2 or 3 ratings per employee-day (10.0 M ratings), 3.65 M employee-day rows and 365,000 unit-day rows, 120,000
employee-month and 12,000 unit-month rows.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jdatetime
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "reporting"))

from hub_reporting.app import create_runtime  # noqa: E402
from hub_shared.auth import Role  # noqa: E402
from hub_shared.db import ensure_database, sync_url  # noqa: E402
from hub_shared.settings import HubSettings  # noqa: E402
from hub_shared.testing import bearer  # noqa: E402

AGENCIES, PROVINCES, COUNTIES, EMPLOYEES, DAYS = 5, 10, 20, 10, 365
SUMS = ("ratings", "score_sum", *(f"{a}_{part}" for a in ("respect", "speed", "quality", "conduct") for part in ("n", "sum")))
# the Jalali months of 1405 as Gregorian [first, after) day ranges, for the per-month rollup
MONTHS = ", ".join(f"(DATE '{jdatetime.date(1405, m, 1).togregorian()}', DATE '{jdatetime.date(1405 + m // 12, m % 12 + 1, 1).togregorian()}')"
                   for m in range(1, 13))
SUMMED = ", ".join(f"sum(d.{name})" for name in SUMS)
SUMMED_PLAIN = ", ".join(f"sum({name})" for name in SUMS)
LOAD = f"""
INSERT INTO reporting_rating_employee_day
SELECT 'agency' || a || '/prov' || p || '/county' || c || '/office', 'emp-' || e, DATE '2026-03-21' + d,
       r, r * 4 - (d % 3), r, r * 4, r, r * 3 + (e % 2), r, r * 4 - (c % 2), r, r * 4
FROM generate_series(1, {AGENCIES}) a, generate_series(1, {PROVINCES}) p, generate_series(1, {COUNTIES}) c,
     generate_series(1, {EMPLOYEES}) e, generate_series(0, {DAYS - 1}) d,
     LATERAL (SELECT CASE WHEN (a + p + c + e + d) % 4 = 0 THEN 2 ELSE 3 END AS r) ratings;
INSERT INTO reporting_rating_unit_day
SELECT unit_id, day, sum(ratings), sum(score_sum), sum(respect_n), sum(respect_sum), sum(speed_n), sum(speed_sum),
       sum(quality_n), sum(quality_sum), sum(conduct_n), sum(conduct_sum)
FROM reporting_rating_employee_day GROUP BY unit_id, day;
INSERT INTO reporting_rating_employee_month (unit_id, employee_id, month, {', '.join(SUMS)})
SELECT d.unit_id, d.employee_id, m.first, {SUMMED} FROM reporting_rating_employee_day d
JOIN (VALUES {MONTHS}) m (first, after) ON d.day >= m.first AND d.day < m.after GROUP BY d.unit_id, d.employee_id, m.first;
INSERT INTO reporting_rating_unit_month (unit_id, month, {', '.join(SUMS)})
SELECT unit_id, month, {SUMMED_PLAIN} FROM reporting_rating_employee_month GROUP BY unit_id, month;
"""


def load(url: str) -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE reporting_rating_employee_day, reporting_rating_unit_day, reporting_rating_employee_month, "
                                "reporting_rating_unit_month"))
        started = time.perf_counter()
        for statement in filter(str.strip, LOAD.split(";")):
            connection.execute(text(statement))
        ratings = connection.execute(text("SELECT sum(ratings) FROM reporting_rating_unit_day")).scalar()
        rows = connection.execute(text("SELECT (SELECT count(*) FROM reporting_rating_employee_day), (SELECT count(*) FROM reporting_rating_unit_day), "
                                       "(SELECT count(*) FROM reporting_rating_employee_month), (SELECT count(*) FROM reporting_rating_unit_month)")).one()
        assert connection.execute(text("SELECT sum(ratings) FROM reporting_rating_unit_month")).scalar() == ratings
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("employee_day", "unit_day", "employee_month", "unit_month"):
            connection.execute(text(f"VACUUM ANALYZE reporting_rating_{table}"))
    engine.dispose()
    print(f"loaded {ratings:,} ratings as {rows[0]:,} employee-day, {rows[1]:,} unit-day, {rows[2]:,} employee-month and "
          f"{rows[3]:,} unit-month rows in {time.perf_counter() - started:.1f} s")


def random_query() -> dict:
    a, p, c = random.randint(1, AGENCIES), random.randint(1, PROVINCES), random.randint(1, COUNTIES)
    unit = random.choice(["national", f"agency{a}", f"agency{a}/prov{p}", f"agency{a}/prov{p}/county{c}",
                          f"agency{a}/prov{p}/county{c}/office"])
    params = {"unit": unit, "by": "employee" if unit.endswith("office") and random.random() < 0.5 else "unit"}
    shape = random.choice(["month", "quarter", "range"])
    if shape == "month":
        params["period"] = f"1405-{random.randint(2, 12):02d}"
    elif shape == "quarter":
        params["period"] = f"1405-Q{random.randint(2, 4)}"
    else:
        month = random.randint(4, 11)
        params.update({"from": f"1405-{month:02d}-01", "to": f"1405-{month + 1:02d}-15"})
    return params


async def measure(url: str, queries: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        runtime = create_runtime(HubSettings(service_name="reporting", data_dir=Path(folder), database_url=url))
        headers = bearer(Role.national_supervisor, subject="bench")
        times: list[float] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://reporting") as client:
            for number in range(queries + 20):
                params = random_query()
                started = time.perf_counter()
                response = await client.get("/api/v1/satisfaction", params=params, headers=headers)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if number >= 20:  # warm-up: connections, plans, caches
                    times.append(elapsed * 1000)
        await runtime.engine.dispose()
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=os.environ.get("HUB_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/hub_bench_ratings"))
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    ensure_database(args.url)
    create_runtime(HubSettings(service_name="reporting", database_url=args.url)).migrate()
    if not args.skip_load:
        load(args.url)
    times = asyncio.run(measure(args.url, args.queries))
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"drill-down over {args.queries} random queries: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
          f"p99 {times[int(0.99 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms (target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'})")


if __name__ == "__main__":
    main()
