"""A notebook session against Weir over Arrow Flight SQL, cell by cell.

Run it against a running server (defaults match `weir serve`):

    pip install adbc-driver-flightsql pandas polars pyarrow
    WEIR_PASSWORD=change-me python examples/notebook.py

Environment: WEIR_FLIGHT_URI (default grpc://127.0.0.1:8815), WEIR_PG_URL for the psql check
(default postgresql://admin@127.0.0.1:5433/main), WEIR_USER (admin), WEIR_PASSWORD.
"""

import os
import shutil
import subprocess

import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import polars as pl

FLIGHT_URI = os.environ.get("WEIR_FLIGHT_URI", "grpc://127.0.0.1:8815")
PG_URL = os.environ.get("WEIR_PG_URL", "postgresql://admin@127.0.0.1:5433/main")
USER = os.environ.get("WEIR_USER", "admin")
PASSWORD = os.environ["WEIR_PASSWORD"]

# %% Connect. One connection is one Weir session (current catalog and schema, settings).
conn = flight_sql.connect(FLIGHT_URI, db_kwargs={"username": USER, "password": PASSWORD}, autocommit=True)
cur = conn.cursor()
cur.execute("CREATE SCHEMA IF NOT EXISTS main.notebook")
cur.execute(
    "CREATE OR REPLACE TABLE main.notebook.bookings AS "
    "SELECT value AS booking_id, "
    "       CASE WHEN value % 3 = 0 THEN 'Seoul' WHEN value % 3 = 1 THEN 'Busan' ELSE 'Jeju' END AS city, "
    "       CAST(value * 1.5 AS DECIMAL(10, 2)) AS price "
    "FROM generate_series(1, 1000)"
)

# %% Read a query into pandas (Arrow end to end; parameters are `?`).
cur.execute(
    "SELECT city, count(*) AS bookings, sum(price) AS revenue "
    "FROM main.notebook.bookings WHERE booking_id > ? GROUP BY city ORDER BY city",
    (100,),
)
revenue = cur.fetch_df()
print(revenue)

# %% The same result into polars, straight from Arrow.
cur.execute("SELECT * FROM main.notebook.bookings")
bookings = pl.from_arrow(cur.fetch_arrow_table())
top = bookings.group_by("city").agg(pl.col("price").max().alias("max_price")).sort("city")
print(top)

# %% Write a DataFrame back: one Delta commit creating (or replacing) the table.
targets = pd.DataFrame({"city": ["Seoul", "Busan", "Jeju"], "target": [60000.0, 50000.0, 40000.0]})
written = cur.adbc_ingest("city_targets", targets, mode="replace", catalog_name="main", db_schema_name="notebook")
print(f"wrote {written} rows")

# %% Analysts see it at once from psql (the Postgres front shares the namespace).
if shutil.which("psql"):
    out = subprocess.run(
        ["psql", PG_URL, "-At", "-c", "SELECT city, target FROM notebook.city_targets ORDER BY city"],
        env={**os.environ, "PGPASSWORD": PASSWORD},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print("psql:", out.strip().replace("\n", "; "))

cur.close()
conn.close()
