"""PostGIS as source and sink, against a real PostgreSQL + PostGIS server started for this module.

The demo's customers are loaded into a typed PostGIS table (mixed-case schema and table names, so quoting
matters), its reps are read through a parameterised query from a table with lon/lat columns, and the run writes
assignments and territories back. The password only ever travels through PGPASSFILE or PGPASSWORD.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from territory_opt.cli import app

from ..conftest import (
    CUSTOMER_COLUMNS,
    DEMO,
    DEMO_TIME_LIMIT,
    REPO,
    skip_unless_ci,
    tiny_customers,
    tiny_reps,
    tiny_scenario_dict,
    write_csv,
)
from ..pg_server import ANALYST, ANALYST_PASSWORD, DATABASE, Server, missing_reason, running_server

# demo-sized runs (two in one test or fixture, about 90 s each on 2 cores): more than the default 300 s may pass
pytestmark = pytest.mark.timeout(900)

RUNNER = CliRunner()
CUSTOMERS_TABLE = "Sales.Customers 2026"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    reason = missing_reason()
    if reason:
        skip_unless_ci(f"PostGIS tests need a PostgreSQL server: {reason}")
    with running_server() as started:
        _load_demo(started)
        yield started


@pytest.fixture(scope="module")
def pgpass(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pgpass") / ".pgpass"
    path.write_text(f"{server.host}:{server.port}:{DATABASE}:{ANALYST}:{ANALYST_PASSWORD}\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def credentials(pgpass: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return pgpass


def _admin(server: Server) -> sa.Engine:
    return sa.create_engine(server.admin_url(), poolclass=sa.pool.NullPool)


def _load_demo(server: Server) -> None:
    """Customers: typed columns and point geometry (SRID 4326), no lon/lat. Reps: plain table with lon/lat."""
    customers = pd.read_csv(REPO / "data" / "customers.csv", keep_default_na=False)
    layer = gpd.GeoDataFrame(customers.drop(columns=["lon", "lat"]),
                             geometry=gpd.points_from_xy(customers["lon"], customers["lat"]), crs=4326)
    layer = layer.sample(frac=1.0, random_state=7)  # stored out of order: the reader sorts by id
    reps = pd.read_csv(REPO / "data" / "reps.csv", keep_default_na=False)
    engine = _admin(server)
    with engine.begin() as conn:
        conn.execute(sa.text('CREATE SCHEMA "Sales"'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA "Sales" TO {ANALYST}'))
        layer.rename_geometry("geom").to_postgis("Customers 2026", conn, schema="Sales", index=False)
        reps.to_sql("reps", conn, index=False)
        conn.execute(sa.text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "Sales", public TO {ANALYST}'))
    engine.dispose()


def _scenario(server: Server, folder: Path, *, output: dict[str, Any] | None = None,
              customers: dict[str, Any] | None = None) -> Path:
    """The demo scenario with customers and reps from the database and results written back."""
    data = yaml.safe_load(DEMO.read_text())
    base = DEMO.parent
    data["inputs"] = {name: str((base / path).resolve()) for name, path in data["inputs"].items()}
    data["inputs"]["customers"] = customers or {"url": server.url(), "table": CUSTOMERS_TABLE}
    data["inputs"]["reps"] = {"url": server.url(), "query": "SELECT * FROM reps WHERE rep_id LIKE :prefix",
                              "params": {"prefix": "%"}}
    data["output"] = {"dir": str(folder / "out"),
                      "database": output or {"url": server.url(), "schema": "Territory Results"}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _tiny_scenario(folder: Path, output: dict[str, Any]) -> Path:
    """The tests' tiny scenario from files, with results written to the database (fast: for the sink's tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "customers.csv", tiny_customers(), CUSTOMER_COLUMNS)
    write_csv(folder / "reps.csv", tiny_reps())
    data = tiny_scenario_dict()
    data["output"]["database"] = output
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(scenario: Path, *extra: str) -> Any:
    return RUNNER.invoke(app, ["run", str(scenario), "--time-limit", DEMO_TIME_LIMIT, "--quiet", *extra])


def _read(server: Server, sql: str) -> pd.DataFrame:
    engine = _admin(server)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(sql), conn)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def round_trip(server: Server, pgpass: Path, demo_output: Path,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(output folder of the database run, output folder of the same scenario from the shipped files)."""
    os.environ["PGPASSFILE"] = str(pgpass)
    try:
        folder = tmp_path_factory.mktemp("db_run")
        result = _run(_scenario(server, folder))
        assert result.exit_code == 0, result.output
    finally:
        del os.environ["PGPASSFILE"]
    return folder / "out", demo_output


def test_database_inputs_give_the_same_answer_as_the_files(round_trip: tuple[Path, Path]) -> None:
    db_out, file_out = round_trip
    for name in ("assignments.csv", "reps.csv", "changes.csv"):
        assert (db_out / name).read_bytes() == (file_out / name).read_bytes(), name


def test_tables_read_back_equal_the_output_files(server: Server, round_trip: tuple[Path, Path]) -> None:
    db_out, _ = round_trip
    table = _read(server, 'SELECT *, ST_X(geom) AS x, ST_Y(geom) AS y, ST_SRID(geom) AS srid '
                          'FROM "Territory Results".assignments')
    assert table["run_id"].nunique() == 1 and set(table["srid"]) == {4326}
    files = pd.read_csv(db_out / "assignments.csv", keep_default_na=False)
    got = table[list(files.columns)].fillna("")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), files, check_dtype=False)
    customers = pd.read_csv(REPO / "data" / "customers.csv").set_index("customer_id")
    assert (table["x"] - customers.loc[table["customer_id"], "lon"].to_numpy()).abs().max() < 1e-9

    engine = _admin(server)
    with engine.connect() as conn:
        shapes = gpd.read_postgis('SELECT * FROM "Territory Results".territories', conn, geom_col="geom")
    engine.dispose()
    written = pyogrio.read_dataframe(db_out / "territories.geojson")
    assert shapes.crs.to_epsg() == 4326
    attributes = [c for c in written.columns if c != "geometry"]
    pd.testing.assert_frame_equal(shapes[attributes].reset_index(drop=True), written[attributes],
                                  check_dtype=False)
    assert set(shapes.geom_type) == {"MultiPolygon"}  # one column type, whether a night's shapes are one piece or not
    single = shapely.get_type_id(written.geometry.to_numpy()) == shapely.GeometryType.POLYGON
    expected = written.geometry.to_numpy().copy()
    expected[single] = shapely.multipolygons(expected[single][:, None])
    assert shapely.equals_exact(shapes.geometry.to_numpy(), expected, tolerance=1e-6).all()


def test_manifest_names_the_database_without_credentials(round_trip: tuple[Path, Path]) -> None:
    manifest = json.loads((round_trip[0] / "manifest.json").read_text())
    customers = manifest["inputs"]["customers"]
    assert customers["table"] == CUSTOMERS_TABLE and customers["database"].startswith("postgresql://analyst@")
    assert manifest["inputs"]["reps"]["params"] == {"prefix": "%"} and len(customers["sha256"]) == 64
    assert ANALYST_PASSWORD not in (round_trip[0] / "manifest.json").read_text()


def test_replace_keeps_one_answer_and_append_keeps_history(server: Server, credentials: Path,
                                                           tmp_path: Path) -> None:
    target = {"url": server.url(), "schema": "history", "mode": "append"}
    for attempt in range(2):
        result = _run(_tiny_scenario(tmp_path / f"run{attempt}", target))
        assert result.exit_code == 0, result.output
    counts = _read(server, "SELECT run_id, count(*) AS n FROM history.assignments GROUP BY run_id")
    assert len(counts) == 2 and counts["n"].nunique() == 1
    result = _run(_tiny_scenario(tmp_path / "replace", {**target, "mode": "replace"}))
    assert result.exit_code == 0, result.output
    assert len(_read(server, "SELECT DISTINCT run_id FROM history.assignments")) == 1
    assert len(_read(server, "SELECT DISTINCT run_id FROM history.territories")) == 1


def test_a_failed_write_rolls_back_both_tables_and_leaves_no_folder(server: Server, credentials: Path,
                                                                   tmp_path: Path) -> None:
    target = {"url": server.url(), "schema": "fragile"}
    result = _run(_tiny_scenario(tmp_path / "good", target))
    assert result.exit_code == 0, result.output
    before = _read(server, "SELECT * FROM fragile.assignments ORDER BY customer_id, team")
    engine = _admin(server)
    with engine.begin() as conn:  # the next write to territories must fail after assignments went in
        conn.execute(sa.text("CREATE FUNCTION fragile.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN RAISE EXCEPTION 'territories are frozen for audit'; END $$"))
        conn.execute(sa.text("CREATE TRIGGER frozen BEFORE INSERT ON fragile.territories FOR EACH ROW "
                             "EXECUTE FUNCTION fragile.refuse()"))
    engine.dispose()
    result = _run(_tiny_scenario(tmp_path / "bad", target), "--seed", "3")
    assert result.exit_code == 6, result.output
    assert "database error" in result.output and "territories" in result.output
    assert "rolled back" in result.output and "frozen for audit" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "bad" / "out").exists()
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == ["customers.csv", "reps.csv", "scenario.yaml"]
    after = _read(server, "SELECT * FROM fragile.assignments ORDER BY customer_id, team")
    pd.testing.assert_frame_equal(before, after)


def test_a_password_in_the_url_is_refused_and_never_echoed(server: Server, tmp_path: Path) -> None:
    secret = "hunter2-secret"
    leaky = f"postgresql://{ANALYST}:{secret}@{server.host}:{server.port}/{DATABASE}"
    result = _run(_scenario(server, tmp_path, customers={"url": leaky, "table": CUSTOMERS_TABLE}))
    assert result.exit_code == 2, result.output
    assert "inputs.customers" in result.output and "PGPASSWORD" in result.output
    assert secret not in result.output
    assert not (tmp_path / "out").exists()


def test_wrong_password_is_a_database_error(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    result = _run(_scenario(server, tmp_path))
    assert result.exit_code == 6, result.output
    assert "cannot connect" in result.output and "password authentication failed" in result.output
    assert "not-the-password" not in result.output and not (tmp_path / "out").exists()


def test_unreachable_server_is_a_database_error(server: Server, credentials: Path, tmp_path: Path) -> None:
    closed = Server(server.host, server.port + 1 if server.port < 65535 else 1, server.socket_dir)
    result = RUNNER.invoke(app, ["validate", str(_scenario(closed, tmp_path))])
    assert result.exit_code == 6, result.output
    assert f"postgresql://{ANALYST}@{closed.host}:{closed.port}/{DATABASE}" in result.output


def test_identifiers_are_quoted_and_values_bound(server: Server, credentials: Path, tmp_path: Path) -> None:
    hostile = "reps; DROP TABLE reps"
    result = _run(_scenario(server, tmp_path / "t", customers={"url": server.url(), "table": hostile}))
    assert result.exit_code == 2, result.output
    assert 'relation "reps; DROP TABLE reps" does not exist' in result.output
    assert "Traceback" not in result.output
    bound = {"url": server.url(), "query": 'SELECT * FROM "Sales"."Customers 2026" WHERE sector = :sector',
             "params": {"sector": "x'; DROP TABLE reps; --"}}
    result = _run(_scenario(server, tmp_path / "q", customers=bound))
    assert result.exit_code == 2 and "has no rows" in result.output, result.output
    assert len(_read(server, "SELECT rep_id FROM reps")) > 0  # still there


def test_a_bad_query_names_the_input(server: Server, credentials: Path, tmp_path: Path) -> None:
    bad = {"url": server.url(), "query": 'SELECT no_such_column FROM "Sales"."Customers 2026"'}
    result = RUNNER.invoke(app, ["validate", str(_scenario(server, tmp_path, customers=bad))])
    assert result.exit_code == 2, result.output
    assert "cannot read customers" in result.output and "no_such_column" in result.output
    assert f"postgresql://{ANALYST}@{server.host}:{server.port}/{DATABASE} query" in result.output


@pytest.mark.parametrize("query", [
    "SELECT * FROM reps; DELETE FROM reps",
    # closes the wrapping sub-select, commits the read-only transaction, then writes in a new one
    "SELECT 1 AS customer_id) AS a; COMMIT; DELETE FROM reps; SELECT * FROM (SELECT 1 AS customer_id",
    "SELECT 1 AS customer_id) AS a; SET SESSION default_transaction_read_only = off; COMMIT; DELETE FROM reps; "
    "SELECT * FROM (SELECT 1 AS customer_id",
    "WITH gone AS (DELETE FROM reps RETURNING *) SELECT * FROM gone",
])
def test_an_input_query_cannot_change_the_database(server: Server, credentials: Path, tmp_path: Path,
                                                   query: str) -> None:
    engine = _admin(server)
    with engine.begin() as conn:
        conn.execute(sa.text(f"GRANT DELETE ON reps TO {ANALYST}"))  # only the read-only session stops it
    engine.dispose()
    result = RUNNER.invoke(app, ["validate", str(_scenario(server, tmp_path, customers={"url": server.url(),
                                                                                         "query": query}))])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "cannot read customers" in result.output
    assert len(_read(server, "SELECT rep_id FROM reps")) == len(pd.read_csv(REPO / "data" / "reps.csv"))


def test_a_value_the_query_cannot_convert_is_an_input_error(server: Server, credentials: Path,
                                                            tmp_path: Path) -> None:
    bad = {"url": server.url(), "query": "SELECT v::int AS customer_id FROM (VALUES ('1'), ('x')) AS t(v)"}
    result = RUNNER.invoke(app, ["validate", str(_scenario(server, tmp_path, customers=bad))])
    assert result.exit_code == 2, result.output
    assert "invalid input syntax for type integer" in result.output and "Traceback" not in result.output


def test_tables_change_shape_with_the_answer(server: Server, credentials: Path, tmp_path: Path) -> None:
    """replace re-creates a table whose columns changed (hierarchy added); append refuses to mix two shapes."""
    from territory_opt.config import DatabaseOutput
    from territory_opt.errors import DatabaseError
    from territory_opt.io.postgis import write_tables

    square = shapely.box(16.0, 52.0, 16.1, 52.1)
    points = gpd.GeoDataFrame({"customer_id": ["c1"]}, geometry=[shapely.Point(16.05, 52.05)], crs=4326)
    one_piece = gpd.GeoDataFrame({"rep_id": ["r1"]}, geometry=[square], crs=4326)
    two_pieces = gpd.GeoDataFrame({"rep_id": ["r1"], "district": ["west"]},
                                  geometry=[shapely.MultiPolygon([square, shapely.box(17.0, 52.0, 17.1, 52.1)])],
                                  crs=4326)
    replace = DatabaseOutput(url=server.url(), schema="shapes")
    write_tables(replace, {"a": points, "t": one_piece}, "night1")
    write_tables(replace, {"a": points, "t": two_pieces}, "night2")
    table = _read(server, "SELECT run_id, district, ST_NumGeometries(geom) AS n FROM shapes.t")
    assert table.to_dict("records") == [{"run_id": "night2", "district": "west", "n": 2}]
    append = DatabaseOutput(url=server.url(), schema="shapes", mode="append")
    with pytest.raises(DatabaseError, match="cannot append to table t: it has columns"):
        write_tables(append, {"a": points, "t": one_piece}, "night3")
    assert _read(server, "SELECT count(*) AS n FROM shapes.a")["n"].tolist() == [1]  # rolled back together


def test_validate_checks_the_output_tables_can_be_written(server: Server, credentials: Path, tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["validate", str(_tiny_scenario(tmp_path / "ok", {"url": server.url(),
                                                                                  "schema": "preflight"}))])
    assert result.exit_code == 0, result.output
    engine = _admin(server)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA locked; CREATE TABLE locked.assignments (run_id text)"))
        conn.execute(sa.text(f"GRANT USAGE, CREATE ON SCHEMA locked TO {ANALYST}; "
                             f"GRANT SELECT ON locked.assignments TO {ANALYST}"))
    engine.dispose()
    result = RUNNER.invoke(app, ["validate", str(_tiny_scenario(tmp_path / "locked", {"url": server.url(),
                                                                                      "schema": "locked"}))])
    assert result.exit_code == 6, result.output
    assert "may not insert and delete rows of locked.assignments" in result.output
    engine = _admin(server)
    with engine.begin() as conn:  # one of the two privileges is not enough
        conn.execute(sa.text(f"GRANT INSERT ON locked.assignments TO {ANALYST}"))
    engine.dispose()
    result = RUNNER.invoke(app, ["validate", str(_tiny_scenario(tmp_path / "locked", {"url": server.url(),
                                                                                      "schema": "locked"}))])
    assert result.exit_code == 6 and "may not delete rows of locked.assignments" in result.output, result.output


def test_validate_says_when_the_search_path_names_no_schema(server: Server, credentials: Path) -> None:
    """Without `schema:`, the tables go to the login's current schema; a search_path naming none that exists has
    none (current_schema() is NULL): the pre-flight says so instead of checking a schema called None."""
    from territory_opt.config import DatabaseOutput
    from territory_opt.errors import DatabaseError
    from territory_opt.io.postgis import check_writable

    url = server.url() + "?options=-csearch_path%3Dnowhere"
    with pytest.raises(DatabaseError) as raised:
        check_writable(DatabaseOutput(url=url))
    assert "search_path names no existing schema" in str(raised.value)


def test_rows_without_an_id_come_in_one_order_whatever_the_server_returns() -> None:
    """Routes have no id column: the order (and so the manifest's hash and every tie downstream) must not depend on
    the order rows sit on the server's disk."""
    from territory_opt.io.postgis import stable_order

    lines = [shapely.LineString([(2, 2), (3, 3)]), shapely.LineString([(0, 0), (1, 1)]),
             shapely.LineString([(0, 0), (1, 1)])]
    frame = gpd.GeoDataFrame({"name": ["a", "c", "b"]}, geometry=lines, crs=4326)
    for shuffled in (frame, frame.iloc[[2, 0, 1]], frame.iloc[[1, 2, 0]]):
        ordered = shuffled.iloc[stable_order(shuffled, None)]
        assert ordered["name"].tolist() == ["b", "c", "a"]  # by geometry, then by the other values
    reps = pd.DataFrame({"rep_id": ["r2", "r10", "r1"], "lon": [1, 2, 3]})
    assert reps.iloc[stable_order(reps, "rep_id")]["rep_id"].tolist() == ["r1", "r10", "r2"]


def test_a_search_path_in_the_url_is_where_tables_are_read_and_written(server: Server, credentials: Path) -> None:
    """Without `schema:`, the tables go where the login's search_path points (geopandas alone would pick public),
    and a read-only read keeps the URL's own options."""
    from territory_opt.config import DatabaseOutput, LayerSource
    from territory_opt.io.postgis import read_layer, write_tables

    engine = _admin(server)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA nightly; GRANT USAGE, CREATE ON SCHEMA nightly TO {ANALYST}"))
    engine.dispose()
    url = server.url() + "?options=-csearch_path%3Dnightly,public"  # PostGIS types live in public
    points = gpd.GeoDataFrame({"rep_id": ["r1"]}, geometry=[shapely.Point(16.0, 52.0)], crs=4326)
    for night in ("night1", "night2"):
        write_tables(DatabaseOutput(url=url), {"pins": points, "shapes": points}, night)
    assert _read(server, "SELECT run_id FROM nightly.pins")["run_id"].tolist() == ["night2"]
    assert _read(server, "SELECT to_regclass('public.pins') IS NULL AS gone")["gone"].tolist() == [True]
    back = read_layer(LayerSource(url=url, table="pins"), "rep_id", "reps")
    assert back["run_id"].tolist() == ["night2"]


def test_a_units_layer_is_read_from_a_postgis_table(server: Server, credentials: Path, tmp_path: Path) -> None:
    """inputs.units from a table: polygons with the SRID's CRS, projected and hashed like the file layers; a customer
    naming a unit the table lacks is an input error naming the customers file, row and field."""
    from territory_opt.config import load_scenario
    from territory_opt.errors import InputError
    from territory_opt.io.load import load_inputs

    halves = gpd.GeoDataFrame({"unit_id": ["W", "E"]}, geometry=[shapely.box(16.6, 52.2, 16.95, 52.6),
                                                                  shapely.box(16.95, 52.2, 17.3, 52.6)], crs=4326)
    engine = _admin(server)
    with engine.begin() as conn:
        halves.rename_geometry("geom").to_postgis("unit_halves", conn, index=False, if_exists="replace")
        conn.execute(sa.text(f"GRANT SELECT ON unit_halves TO {ANALYST}"))
    engine.dispose()
    customers = [{**row, "unit_id": "W" if row["lon"] < 16.95 else "E"} for row in tiny_customers()]
    write_csv(tmp_path / "customers.csv", customers, [*CUSTOMER_COLUMNS, "unit_id"])
    write_csv(tmp_path / "reps.csv", tiny_reps())
    data = tiny_scenario_dict()
    data["inputs"]["units"] = {"url": server.url(), "table": "unit_halves"}
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    inputs = load_inputs(load_scenario(tmp_path / "scenario.yaml"))
    assert inputs.units is not None and inputs.units["unit_id"].tolist() == ["E", "W"]  # sorted by id
    assert inputs.units.crs.equals(inputs.crs) and len(inputs.file_hashes["units"]) == 64
    customers[2]["unit_id"] = "X"
    write_csv(tmp_path / "customers.csv", customers, [*CUSTOMER_COLUMNS, "unit_id"])
    with pytest.raises(InputError) as info:
        load_inputs(load_scenario(tmp_path / "scenario.yaml"))
    assert [(f.source, f.row, f.field) for f in info.value.findings] == [(str(tmp_path / "customers.csv"), 4,
                                                                          "unit_id")]


def test_columns_map_a_tables_names_as_a_files(server: Server, credentials: Path, tmp_path: Path) -> None:
    """Issue 18: `columns:` reads a table whose columns have other names, as it does a file's; rows are still
    sorted by the (mapped) id, and a missing column suggests the mapping."""
    renamed = {"url": server.url(),
               "query": 'SELECT customer_id AS "Customer_I", * FROM "Sales"."Customers 2026"'}
    result = RUNNER.invoke(app, ["validate", str(_scenario(server, tmp_path / "bad", customers={
        **renamed, "query": renamed["query"].replace(", *", ", geom, sector, current_value, potential_value")}))])
    assert result.exit_code == 2, result.output
    assert "required column 'customer_id' is missing" in result.output
    assert "add  columns: {customer_id: Customer_I}  under inputs.customers" in result.output
    result = RUNNER.invoke(app, ["validate", str(_scenario(server, tmp_path / "ok", customers={
        **renamed, "query": renamed["query"].replace(", *", ", geom, sector, current_value, potential_value"),
        "columns": {"customer_id": "Customer_I"}}))])
    assert result.exit_code == 0, result.output
