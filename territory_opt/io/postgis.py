"""PostgreSQL/PostGIS as a source of input layers and a sink for results.

- Credentials never come from the scenario: libpq reads PGUSER, PGPASSWORD, PGPASSFILE or ~/.pgpass (the scenario's
  URL is refused when it holds a password, see `config.database_url_problem`).
- Identifiers are quoted by SQLAlchemy's PostgreSQL dialect and values bound as parameters, never pasted into SQL.
- Reads go through geopandas (`read_postgis`), so a geometry column's SRID becomes the layer's CRS; rows are
  sorted by the layer's id so a table read gives the same run whatever order the server returns them in.
- Writes go through geopandas (`to_postgis`) inside one transaction: readers see the previous answer until the new
  one is committed whole, and any failure rolls everything back.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ..config import DatabaseOutput, LayerSource, safe_url
from ..errors import DatabaseError, Finding, InputError

CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT = "60s"  # a reader holding a lock for longer fails the write instead of hanging the nightly run
GEOMETRY_COLUMN = "geom"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def engine_for(url: str) -> Engine:
    """An engine on psycopg 3 with no pool (one nightly run, a handful of statements)."""
    rest = url.split("://", 1)[1]
    return sa.create_engine(f"postgresql+psycopg://{rest}", poolclass=NullPool,
                            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "territory-opt"})


@contextlib.contextmanager
def connect(url: str, *, transaction: bool = False) -> Iterator[Connection]:
    """A connection (in one transaction when asked); a failure to reach or log in is a `DatabaseError`."""
    engine = engine_for(url)
    try:
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(Finding(f"cannot connect: {_first_line(exc)}", source=safe_url(url))) from None
        with conn:
            if transaction:
                with conn.begin():
                    yield conn
            else:
                yield conn
    finally:
        engine.dispose()


def split_name(name: str) -> tuple[str | None, str]:
    """`schema.table` -> (schema, table); a bare name -> (None, name)."""
    schema, dot, table = name.rpartition(".")
    return (schema or None, table) if dot else (None, name)


def quoted(conn: Connection, name: str, schema: str | None = None) -> str:
    prep = conn.dialect.identifier_preparer
    return f"{prep.quote_schema(schema)}.{prep.quote(name)}" if schema else prep.quote(name)


def _select(conn: Connection, source: LayerSource) -> str:
    if source.table is not None:
        schema, table = split_name(source.table.strip())
        return f"SELECT * FROM {quoted(conn, table, schema)}"
    return str(source.query).strip().rstrip(";")


def read_layer(source: LayerSource, id_column: str | None, label: str) -> pd.DataFrame:
    """The table or query as a GeoDataFrame (geometry column present) or a DataFrame (lon/lat columns), sorted by
    `id_column` when it has one. A bad table, column or query is the user's `InputError`."""
    assert source.url is not None
    with connect(source.url) as conn:
        sql = _select(conn, source)
        try:
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))  # a query can read, never change, the database
            columns = list(conn.execute(sa.text(f"SELECT * FROM ({sql}) AS layer LIMIT 0"), source.params).keys())
            if source.geometry in columns:
                frame: pd.DataFrame = gpd.read_postgis(sa.text(sql), conn, geom_col=source.geometry,
                                                       params=source.params)
                if source.geometry != "geometry":  # the name every reader downstream expects, as from a file
                    frame = frame.drop(columns=["geometry"], errors="ignore").rename_geometry("geometry")
            else:
                frame = pd.read_sql(sa.text(sql), conn, params=source.params)
        except (sa.exc.OperationalError, psycopg.OperationalError) as exc:
            raise DatabaseError(Finding(f"cannot read {label}: {_first_line(exc)}", source=source.label)) from None
        except (sa.exc.SQLAlchemyError, psycopg.Error, ValueError) as exc:
            raise InputError(Finding(f"cannot read {label}: {_first_line(exc)}", source=source.label)) from None
    if id_column and id_column in frame:
        order = np.argsort(frame[id_column].astype(str).to_numpy(), kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
    return frame


def frame_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a layer read from a database (the manifest's stand-in for a file hash)."""
    digest = hashlib.sha256()
    plain = pd.DataFrame(frame.drop(columns=[frame.geometry.name])) if isinstance(frame, gpd.GeoDataFrame) else frame
    digest.update(",".join(map(str, plain.columns)).encode())
    digest.update(pd.util.hash_pandas_object(plain.astype(str), index=False).to_numpy().tobytes())
    if isinstance(frame, gpd.GeoDataFrame):
        for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
            digest.update(wkb or b"")
    return digest.hexdigest()


def check_writable(target: DatabaseOutput) -> None:
    """`validate`'s pre-flight: connect, and check this login may create the schema and tables or write the existing
    ones (insert, and delete for `replace`). Changes nothing."""
    needed = "INSERT,DELETE" if target.mode == "replace" else "INSERT"
    problems = []
    try:
        with connect(target.url) as conn:
            inspector = sa.inspect(conn)
            schema = target.db_schema or conn.execute(sa.text("SELECT current_schema()")).scalar()
            if not inspector.has_schema(schema):
                if not conn.execute(sa.text("SELECT has_database_privilege(current_database(), 'CREATE')")).scalar():
                    problems.append(f"this login may not create schema {schema}")
            elif not conn.execute(sa.text("SELECT has_schema_privilege(:s, 'CREATE,USAGE')"), {"s": schema}).scalar():
                problems.append(f"this login may not create tables in schema {schema}")
            for name in (target.assignments, target.territories):
                if inspector.has_schema(schema) and inspector.has_table(name, schema=schema):
                    table = quoted(conn, name, schema)
                    if not conn.execute(sa.text("SELECT has_table_privilege(:t, :p)"),
                                        {"t": table, "p": needed}).scalar():
                        problems.append(f"this login may not {needed.lower().replace(',', ' and ')} rows of {table}")
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(Finding(f"cannot check the output tables: {_first_line(exc)}",
                                    source=safe_url(target.url))) from None
    if problems:
        raise DatabaseError([Finding(problem, source=safe_url(target.url)) for problem in problems])


def write_tables(target: DatabaseOutput, tables: Mapping[str, gpd.GeoDataFrame], run_id: str) -> None:
    """Write each frame to its table (EPSG:4326, `run_id` first) in one transaction; `replace` deletes the old rows
    in that same transaction, so a reader never sees a mix or an empty table."""
    where = safe_url(target.url)
    name = ""
    try:
        with connect(target.url, transaction=True) as conn:
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            if target.db_schema:
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted(conn, target.db_schema)}"))
            inspector = sa.inspect(conn)
            for name, frame in tables.items():
                table = frame.to_crs(4326).rename_geometry(GEOMETRY_COLUMN)
                # the rings GeoJSON (RFC 7946) writes: counter-clockwise exteriors, so the table equals the file
                table[GEOMETRY_COLUMN] = shapely.orient_polygons(table.geometry.to_numpy(), exterior_cw=False)
                table.insert(0, "run_id", run_id)
                if target.mode == "replace" and inspector.has_table(name, schema=target.db_schema):
                    conn.execute(sa.text(f"DELETE FROM {quoted(conn, name, target.db_schema)}"))
                table.to_postgis(name, conn, schema=target.db_schema, if_exists="append", index=False)
    except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:  # geopandas COPYs through psycopg's own cursor
        what = f"table {name}" if name else "the tables"
        raise DatabaseError(Finding(f"cannot write {what} (rolled back, nothing written): {_first_line(exc)}",
                                    source=where)) from None
