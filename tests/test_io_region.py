"""io.region: which whole layer has lat and lon the wrong way round (issue 18), and the labelled coordinates of the
region messages. The CLI-level case is tests/data/bad/coord_swapped_columns."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from territory_opt.io.findings import FindingLog
from territory_opt.io.region import LayerPoints, Region, swap_finding, swapped_layers

RNG = np.random.default_rng(3)


def around(lon: float, lat: float, n: int, label: str, *, swapped: bool = False, **kwargs: object) -> LayerPoints:
    """n points within about 20 km of (lon, lat), stored the wrong way round when `swapped`."""
    lons, lats = lon + 0.3 * RNG.random(n), lat + 0.2 * RNG.random(n)
    if swapped:
        lons, lats = lats, lons
    return LayerPoints(label, lons, lats, **kwargs)  # type: ignore[arg-type]


POZNAN = (16.9, 52.4)


@pytest.mark.parametrize("bad", [0, 1, 2], ids=["customers", "reps", "depots"])
def test_the_one_swapped_layer_among_three_is_named_whichever_it_is(bad: int) -> None:
    layers = [around(*POZNAN, n, name, swapped=i == bad)
              for i, (name, n) in enumerate([("customers.csv", 300), ("reps.csv", 12), ("depots.csv", 3)])]
    assert swapped_layers(layers) == ([bad], False)


def test_layers_in_one_region_are_not_swapped_and_a_far_layer_is_not_called_swapped() -> None:
    assert swapped_layers([around(*POZNAN, 50, "c"), around(*POZNAN, 5, "r"), around(*POZNAN, 2, "d")]) == ([], False)
    # reps in Ohio beside customers in Poland: far, but swapping them brings nothing together
    assert swapped_layers([around(*POZNAN, 50, "c"), around(-82.9, 40.0, 5, "r")]) == ([], False)


def test_of_two_layers_the_smaller_is_named_and_the_choice_called_ambiguous() -> None:
    customers, reps = around(*POZNAN, 40, "customers.csv", swapped=True), around(*POZNAN, 4, "reps.csv")
    assert swapped_layers([customers, reps]) == ([1], True)
    finding = swap_finding([customers, reps], 1, [1], ambiguous=True)
    assert "it may instead be customers.csv whose lat and lon are swapped" in finding.message


def test_a_layer_with_a_longitude_beyond_90_is_never_swapped() -> None:
    """Swapped, a longitude of 150 would be a latitude of 150: no such layer is a candidate."""
    sydney = around(150.9, -33.9, 30, "c")
    assert not sydney.can_flip and around(*POZNAN, 3, "r").can_flip
    assert swapped_layers([sydney, around(150.9, -33.9, 3, "r")]) == ([], False)


def test_the_swap_message_names_the_file_its_columns_the_fix_and_labels_each_coordinate() -> None:
    customers = around(*POZNAN, 16, "/data/in/customers.csv", swapped=True, columns=("lon", "lat"),
                       option_key="inputs.customers", first_row=2)
    layers = [customers, around(*POZNAN, 4, "/data/in/reps.csv"), around(*POZNAN, 2, "/data/in/depots.geojson")]
    finding = swap_finding(layers, 0, [0])
    assert finding.source == "/data/in/customers.csv" and finding.row is None and finding.field == "lon/lat"
    text = finding.message
    assert text.startswith("lat and lon look swapped in customers.csv (columns 'lon' and 'lat'): its 16 rows lie "
                           "about ")
    assert "from reps.csv, depots.geojson (centre lon 17." in text and ", lat 52." in text
    assert f"row 2 reads lon {customers.lon[0]:.5f}, lat {customers.lat[0]:.5f}" in text
    assert text.endswith("add  lon: lat  and  lat: lon  under inputs.customers")
    assert "may instead" not in text


def test_a_geometry_layer_is_told_to_put_longitude_in_x() -> None:
    layers = [around(*POZNAN, 30, "c.csv"), around(*POZNAN, 5, "r.csv"),
              around(*POZNAN, 3, "footprints.geojson", swapped=True, first_row=1)]
    assert swapped_layers(layers) == ([2], False)
    text = swap_finding(layers, 2, [2]).message
    assert "swapped in footprints.geojson (its geometry holds latitude as x): its 3 features" in text
    assert text.endswith("Write the layer again with longitude as x and latitude as y")


def test_a_stray_point_message_labels_lon_and_lat() -> None:
    region = Region(16.9, 52.4, 170.0)
    frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy([16.9, 52.41], [52.4, 16.93]), crs="EPSG:4326")
    log = FindingLog()
    region.check(frame, "reps.csv", 2, log)
    [finding] = log.errors
    assert finding.row == 3
    assert finding.message.startswith("point lon 52.41000, lat 16.93000 is ")
    assert "(centre lon 16.900, lat 52.400; radius 170 km) (lat and lon look swapped)" in finding.message
