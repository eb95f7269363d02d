"""Other engines: the same analytics on Spark (a local session, a cluster, or Spark Connect).

The analytics take Ibis tables, so any Ibis backend can feed them; DuckDB is the default store
(analytics.store.warehouse), Spark is for books beyond one machine. Writes (imports, versions) stay
with the warehouse: on a cluster the tables are loaded by the data platform's own jobs, and
SteelSight reads them.

    from pyspark.sql import SparkSession
    spark = SparkSession.builder.remote("sc://spark-connect.example:15002").getOrCreate()
    tables = spark_tables(spark, database="steel")     # every canonical table found there
    overview.kpis(tables, period)                       # the same call as on DuckDB
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis

from analytics.store import schema
from analytics.store.warehouse import Tables, Warehouse


def local_spark(cores: int = 2, *, app: str = "steelsight") -> Any:
    """A local Spark session (Java 17 needed) with settings fit for one machine: UTC dates,
    few shuffle partitions, no UI."""
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(f"local[{cores}]").appName(app)
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(cores * 2))
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "4g")
            .getOrCreate())


def spark_tables(spark: Any, *, database: str | None = None) -> Tables:
    """Tables for the canonical tables present in the Spark catalog (or one database)."""
    con = ibis.pyspark.connect(spark)
    names = set(con.list_tables(database=database) if database else con.list_tables())
    return Tables(**{n: con.table(n, database=database) if database else con.table(n)
                     for n in schema.TABLES if n in names})


def copy_to_spark(warehouse: Warehouse, spark: Any, folder: Path) -> Tables:
    """Export the warehouse's current version as Parquet into ``folder`` and register every
    table as a Spark view: the way the tests and the bench put the same data on both."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = warehouse.connect_raw()
    try:
        present = {r[0] for r in raw.execute("select table_name from information_schema.tables")
                   .fetchall()}
        for name in schema.TABLES:
            if name in present:
                path = folder / f"{name}.parquet"
                raw.execute(f"COPY {name} TO '{path}' (FORMAT PARQUET)")
                spark.read.parquet(str(path)).createOrReplaceTempView(name)
    finally:
        raw.close()
    return spark_tables(spark)
