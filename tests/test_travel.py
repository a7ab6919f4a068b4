"""Travel models: straight line, along the route network, and the user's matrix (read from CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory_opt.errors import InputError
from territory_opt.io.matrix import read_travel_matrix
from territory_opt.prepare.geo import build_network, network_graphs, snap_points
from territory_opt.routing.travel import MatrixTravel, NetworkTravel, StraightTravel

STRAIGHT = StraightTravel(speed_kmh=36.0, detour_factor=1.0)  # 10 m/s: seconds = metres / 10


def road_network(points: np.ndarray) -> NetworkTravel:
    """One 100 km road along y = 0 at 100 km/h, legs and local roads at 36 km/h."""
    import shapely

    net = build_network(np.array([shapely.LineString([(0, 0), (100_000, 0)])]), np.array([100.0]))
    ends, along_m, along_s, leg_m = snap_points(net, points)
    graph_s, graph_m = network_graphs(net)
    return NetworkTravel(graph_s, graph_m, ends, along_s, along_m, leg_m, 36.0, STRAIGHT)


def test_straight_travel_is_distance_over_speed() -> None:
    xy = np.array([[0.0, 0.0], [3000.0, 4000.0]])
    block = STRAIGHT.block(np.arange(2), xy)
    assert block.metres.tolist() == [[0, 5000], [5000, 0]] and block.seconds[0, 1] == 500


def test_network_takes_the_road_for_long_legs_and_the_local_road_for_short_ones() -> None:
    xy = np.array([[0.0, 1000.0], [100_000.0, 1000.0], [0.0, 1500.0]])
    block = road_network(xy).block(np.arange(3), xy)
    # 1 km leg on, 100 km at 100 km/h (3,600 s), 1 km leg off: 100 s + 3,600 s + 100 s
    assert block.seconds[0, 1] == pytest.approx(3800, abs=1) and block.metres[0, 1] == pytest.approx(102_000, abs=1)
    assert block.seconds[1, 0] == block.seconds[0, 1]  # the road runs both ways
    # 500 m apart, both 1 km off the road: straight at local speed (50 s), not 2 km of legs
    assert block.seconds[0, 2] == 50 and block.metres[0, 2] == 500
    assert (np.diag(block.seconds) == 0).all()


def test_network_is_never_slower_than_the_local_road() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform([0, -20_000], [100_000, 20_000], size=(30, 2))
    block = road_network(xy).block(np.arange(30), xy)
    assert (block.seconds <= STRAIGHT.block(np.arange(30), xy).seconds).all()


def test_matrix_lookup_reverse_and_estimate() -> None:
    n = 4
    keys = np.array([0 * n + 1, 2 * n + 1])  # 0 -> 1 and 2 -> 1 given
    matrix = MatrixTravel(keys, np.array([100, 300]), np.array([1000, 3000]), n, STRAIGHT)
    xy = np.array([[0.0, 0.0], [50.0, 0.0], [100.0, 0.0], [0.0, 0.0]])
    block = matrix.block(np.array([0, 1, 2]), xy[:3])
    assert block.seconds[0, 1] == 100 and block.seconds[1, 0] == 100  # the reverse pair stands in
    assert block.seconds[2, 1] == 300 and block.seconds[1, 2] == 300
    assert block.seconds[0, 2] == 10 and block.estimated == 2  # 100 m straight at 10 m/s, both ways estimated
    assert matrix.without_points_from(2).block(np.array([2, 1]), xy[[2, 1]]).estimated == 2


def write_matrix(tmp_path: Path, rows: list[dict], suffix: str = ".csv") -> Path:
    path = tmp_path / f"matrix{suffix}"
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    return path


IDS = np.array(["C1", "C2", "R1"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_matrix_file_in_minutes_and_km(tmp_path: Path, suffix: str) -> None:
    path = write_matrix(tmp_path, [{"from_id": "C1", "to_id": "C2", "minutes": 12.5, "km": 10.0},
                                   {"from_id": "R1", "to_id": "C1", "minutes": 3, "km": 2.5},
                                   {"from_id": "X9", "to_id": "C1", "minutes": 1, "km": 1}], suffix)
    matrix, warnings, sha = read_travel_matrix(path, IDS, STRAIGHT)
    block = matrix.block(np.array([2, 0, 1]), np.zeros((3, 2)))
    assert block.seconds[1, 2] == 750 and block.metres[1, 2] == 10_000 and block.seconds[0, 1] == 180
    assert len(warnings) == 1 and "1 rows" in str(warnings[0]) and len(sha) == 64


@pytest.mark.parametrize(("rows", "words"), [
    ([{"from_id": "C1", "to_id": "C2", "hours": 1}], "seconds or minutes"),
    ([{"from_id": "C1", "to_id": "C2", "seconds": 5}, {"from_id": "C2", "to_id": "C1", "seconds": -1}],
     "row 3, field 'seconds'"),
    ([{"from_id": "C1", "to_id": "C2", "seconds": "soon"}], "row 2, field 'seconds'"),
    ([{"from_id": "C1", "to_id": "C2", "seconds": 5}, {"from_id": "C1", "to_id": "C2", "seconds": 6}],
     "row 3: the pair 'C1' -> 'C2' is given twice"),
])
def test_bad_matrix_files_name_file_row_and_field(tmp_path: Path, rows: list[dict], words: str) -> None:
    path = write_matrix(tmp_path, rows)
    with pytest.raises(InputError) as caught:
        read_travel_matrix(path, IDS, STRAIGHT)
    assert words in caught.value.render() and "matrix.csv" in caught.value.render()
