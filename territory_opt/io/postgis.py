"""PostgreSQL/PostGIS as a source of input layers and a sink for results.

- Credentials never come from the scenario: libpq reads PGUSER, PGPASSWORD, PGPASSFILE or ~/.pgpass (the scenario's
  URL is refused when it holds a password, see `config.sources.database_url_problem`).
- Identifiers are quoted by SQLAlchemy's PostgreSQL dialect and values bound as parameters, never pasted into SQL.
- Reads go through geopandas (`read_postgis`), so a geometry column's SRID becomes the layer's CRS; rows are
  sorted (by the layer's id, else by geometry and values) so a read gives the same run whatever order the server
  returns them in. A read runs in a read-only session and transaction, as one statement with a bound parameter
  (the extended protocol refuses `;`-chained statements, so a query cannot COMMIT its way out and write).
- Writes go through geopandas (`to_postgis`) inside one transaction: readers see the previous answer until the new
  one is committed whole, and any failure rolls everything back. Polygons are written as MultiPolygons, so a night
  with a territory in two pieces fits the table an earlier night created; `replace` re-creates a table whose columns
  or geometry no longer match (a hierarchy added, another SRID), `append` refuses one.
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
from geoalchemy2 import Geometry
from pandas.errors import DatabaseError as PandasDatabaseError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ..config import DatabaseOutput, LayerSource, safe_url
from ..errors import DatabaseError, Finding, InputError

CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT = "60s"  # a reader holding a lock for longer fails the write instead of hanging the nightly run
GEOMETRY_COLUMN = "geom"
ONE_STATEMENT = "territory_opt_one_statement"  # the bound parameter every read carries (see the module docstring)
READ_ONLY = "-c default_transaction_read_only=on"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def engine_for(url: str, *, read_only: bool = False) -> Engine:
    """An engine on psycopg 3 with no pool (one nightly run, a handful of statements); `read_only`: every
    transaction of the session is read-only."""
    address = sa.engine.make_url(f"postgresql+psycopg://{url.split('://', 1)[1]}")
    given = address.query.get("options", "")  # e.g. a search_path of the user's: kept, read-only added to it
    given = " ".join(given) if isinstance(given, tuple) else given
    options = {"options": f"{given} {READ_ONLY}".strip()} if read_only else {}
    return sa.create_engine(address, poolclass=NullPool,
                            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "territory-opt",
                                          **options})


@contextlib.contextmanager
def connect(url: str, *, transaction: bool = False, read_only: bool = False) -> Iterator[Connection]:
    """A connection (in one transaction when asked); a failure to reach or log in is a `DatabaseError`."""
    try:
        engine = engine_for(url, read_only=read_only)
    except (sa.exc.ArgumentError, ValueError) as exc:  # a URL libpq cannot use (config checks most of them)
        raise DatabaseError(Finding(f"cannot use this URL: {_first_line(exc)}", source=safe_url(url))) from None
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
    """The table or query as a GeoDataFrame (geometry column present) or a DataFrame (lon/lat columns), in a stable
    row order (see `stable_order`). A bad table, column, value or query is the user's `InputError`; a server that
    stops answering is a `DatabaseError`."""
    assert source.url is not None
    with connect(source.url, read_only=True) as conn:
        layer = f"SELECT * FROM ({_select(conn, source)}) AS layer WHERE :{ONE_STATEMENT}"
        params = {**source.params, ONE_STATEMENT: True}
        try:
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))  # a query can read, never change, the database
            columns = list(conn.execute(sa.text(f"{layer} LIMIT 0"), params).keys())
            if source.geometry in columns:
                frame: pd.DataFrame = gpd.read_postgis(sa.text(layer), conn, geom_col=source.geometry, params=params)
                if source.geometry != "geometry":  # the name every reader downstream expects, as from a file
                    frame = frame.drop(columns=["geometry"], errors="ignore").rename_geometry("geometry")
            else:
                frame = pd.read_sql(sa.text(layer), conn, params=params)
        except Exception as exc:  # every way a user's table or query can fail, sorted in _read_error
            raise _read_error(exc, source, label) from None
    return frame.iloc[stable_order(frame, id_column)].reset_index(drop=True)


def _read_error(exc: Exception, source: LayerSource, label: str) -> Exception:
    """A failed read as the user's error: the server gone is `DatabaseError` (exit 6), anything about the table,
    query or its values `InputError` (exit 2); what is neither (a bug) is raised as it is."""
    cause = exc.__cause__ if isinstance(exc, PandasDatabaseError) and exc.__cause__ is not None else exc
    finding = Finding(f"cannot read {label}: {_first_line(cause)}", source=source.label)
    if isinstance(cause, sa.exc.OperationalError | psycopg.OperationalError):
        return DatabaseError(finding)
    if isinstance(cause, sa.exc.SQLAlchemyError | psycopg.Error | PandasDatabaseError | ValueError | TypeError
                  | shapely.errors.ShapelyError):
        return InputError(finding)
    return exc


def stable_order(frame: pd.DataFrame, id_column: str | None) -> np.ndarray:
    """Row positions sorted by `id_column` when the layer has one, else by geometry (WKB) and every value: a table
    read gives the same rows in the same order whatever order the server returns them in."""
    if id_column and id_column in frame:
        return np.argsort(frame[id_column].astype(str).to_numpy(), kind="stable")
    keys = frame.drop(columns=[frame.geometry.name]) if isinstance(frame, gpd.GeoDataFrame) else frame
    text = keys.astype(str).agg("\x1f".join, axis=1).to_numpy(dtype=str) if len(keys.columns) else \
        np.full(len(frame), "")
    if isinstance(frame, gpd.GeoDataFrame):
        wkb = np.array([w.hex() if w is not None else "" for w in shapely.to_wkb(frame.geometry.to_numpy())])
        return np.lexsort((text, wkb))
    return np.argsort(text, kind="stable")


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
    ones (insert, and delete for `replace`). Changes nothing. Each privilege is asked on its own: PostgreSQL's
    `has_table_privilege(t, 'INSERT,DELETE')` is true when any one of them is held."""
    needed = ("INSERT", "DELETE") if target.mode == "replace" else ("INSERT",)
    problems = []

    def holds(check: str, name: str, privilege: str) -> bool:
        return bool(conn.execute(sa.text(f"SELECT {check}(:n, :p)"), {"n": name, "p": privilege}).scalar())

    try:
        with connect(target.url) as conn:
            inspector = sa.inspect(conn)
            schema = target.db_schema or conn.execute(sa.text("SELECT current_schema()")).scalar()
            if schema is None:  # current_schema() is NULL when no schema on the search_path exists
                problems.append("this login's search_path names no existing schema: set output.database.schema")
            elif not inspector.has_schema(schema):
                if not conn.execute(sa.text("SELECT has_database_privilege(current_database(), 'CREATE')")).scalar():
                    problems.append(f"this login may not create schema {schema}")
            elif not (holds("has_schema_privilege", schema, "USAGE") and holds("has_schema_privilege", schema,
                                                                                "CREATE")):
                problems.append(f"this login may not create tables in schema {schema}")
            for name in (target.assignments, target.territories):
                if schema is not None and inspector.has_schema(schema) and inspector.has_table(name, schema=schema):
                    table = quoted(conn, name, schema)
                    missing = [p.lower() for p in needed if not holds("has_table_privilege", table, p)]
                    if missing:
                        problems.append(f"this login may not {' and '.join(missing)} rows of {table}")
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(Finding(f"cannot check the output tables: {_first_line(exc)}",
                                    source=safe_url(target.url))) from None
    if problems:
        raise DatabaseError([Finding(problem, source=safe_url(target.url)) for problem in problems])


def as_table(frame: gpd.GeoDataFrame, run_id: str) -> tuple[gpd.GeoDataFrame, Geometry]:
    """A result frame as written: `run_id` first, EPSG:4326, geometry column `geom`; polygons as MultiPolygons with
    counter-clockwise exteriors (as GeoJSON, RFC 7946, writes them), so every night fits one column type."""
    table = frame.to_crs(4326).rename_geometry(GEOMETRY_COLUMN)
    geoms = table.geometry.to_numpy()
    kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    if kinds <= {shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON}:
        single = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
        geoms = geoms.copy()
        geoms[single] = shapely.multipolygons(geoms[single][:, None]) if single.any() else geoms[single]
        kind = "MULTIPOLYGON"
    else:
        kind = "POINT" if kinds <= {shapely.GeometryType.POINT} else "GEOMETRY"
    table[GEOMETRY_COLUMN] = shapely.orient_polygons(geoms, exterior_cw=False)
    table.insert(0, "run_id", run_id)
    return table, Geometry(geometry_type=kind, srid=4326)


def _table_shape(conn: Connection, name: str, schema: str) -> tuple[list[str], tuple[str, int] | None]:
    """An existing table's columns and its `geom` column's (type, SRID)."""
    columns = [c["name"] for c in sa.inspect(conn).get_columns(name, schema=schema)]
    row = conn.execute(sa.text(
        "SELECT upper(type), srid FROM geometry_columns WHERE f_table_schema = :s "
        "AND f_table_name = :t AND f_geometry_column = :g"), {"s": schema, "t": name, "g": GEOMETRY_COLUMN}).first()
    return columns, None if row is None else (str(row[0]), int(row[1]))


def write_tables(target: DatabaseOutput, tables: Mapping[str, gpd.GeoDataFrame], run_id: str) -> None:
    """Write each frame to its table (`as_table`) in one transaction; `replace` deletes the old rows in that same
    transaction, so a reader never sees a mix or an empty table, and re-creates a table whose columns or geometry
    changed; `append` refuses a table of another shape (history would mix two meanings)."""
    where = safe_url(target.url)
    name = ""
    try:
        with connect(target.url, transaction=True) as conn:
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            if target.db_schema:
                conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted(conn, target.db_schema)}"))
            # named always: geopandas writes to `public` when given none, the login's search_path may say otherwise
            schema = target.db_schema or str(conn.execute(sa.text("SELECT current_schema()")).scalar())
            for name, frame in tables.items():
                table, geometry = as_table(frame, run_id)
                if sa.inspect(conn).has_table(name, schema=schema):
                    columns, geom = _table_shape(conn, name, schema)
                    same = columns == list(table.columns) and geom == (geometry.geometry_type, 4326)
                    if not same and target.mode == "append":
                        raise DatabaseError(Finding(
                            f"cannot append to table {name}: it has columns {columns} and geometry {geom}, this run "
                            f"writes {list(table.columns)} and ({geometry.geometry_type}, 4326); use mode: replace "
                            "or another table (nothing written)", source=where))
                    drop = "DROP TABLE" if not same else "DELETE FROM"
                    if target.mode == "replace" or not same:
                        conn.execute(sa.text(f"{drop} {quoted(conn, name, schema)}"))
                table.to_postgis(name, conn, schema=schema, if_exists="append", index=False,
                                 dtype={GEOMETRY_COLUMN: geometry})
    except (sa.exc.SQLAlchemyError, psycopg.Error, ValueError) as exc:  # geopandas COPYs through psycopg's cursor
        what = f"table {name}" if name else "the tables"
        raise DatabaseError(Finding(f"cannot write {what} (rolled back, nothing written): {_first_line(exc)}",
                                    source=where)) from None
