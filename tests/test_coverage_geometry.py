"""Camera sectors and visibility polygons on hand-built cases."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from hardening.coverage.geometry import Camera, Walls, camera_view, sector, sees


def test_sector_area_and_direction() -> None:
    cam = Camera(0.0, 0.0, bearing_deg=90.0, fov_deg=90.0, range_m=30.0)  # looking east
    assert math.isclose(sector(cam).area, math.pi * 900 / 4, rel_tol=1e-3)
    xs, ys = np.array([20.0, -20.0, 0.0, 20.0, 31.0]), np.array([0.0, 0.0, 20.0, 21.0, 0.0])
    assert sees(cam, None, xs, ys).tolist() == [True, False, False, False, False]
    north = Camera(0.0, 0.0, bearing_deg=0.0, fov_deg=60.0, range_m=30.0)
    assert sees(north, None, np.array([0.0, 0.0]), np.array([25.0, -25.0])).tolist() == [
        True,
        False,
    ]


def test_a_wall_hides_an_entrance() -> None:
    # A terrace between the camera and one front door; the next door along is in plain view.
    walls = Walls([shapely.box(10.0, -5.0, 18.0, 5.0)])
    cam = Camera(0.0, 0.0, bearing_deg=90.0, fov_deg=120.0, range_m=40.0)
    hidden, open_door = (25.0, 0.0), (25.0, 15.0)
    seen = sees(
        cam, walls, np.array([hidden[0], open_door[0]]), np.array([hidden[1], open_door[1]])
    )
    assert seen.tolist() == [False, True]
    # With no walls both are seen: the wall alone made the difference.
    assert sees(cam, None, np.array([25.0, 25.0]), np.array([0.0, 15.0])).tolist() == [True, True]
    # The shadow starts exactly at the corner ray: just past the wall's edge is visible.
    edge_y = 5.0 * 25.0 / 10.0  # the line of sight over the corner (10, 5) reaches y=12.5 at x=25
    pts = sees(cam, walls, np.array([25.0, 25.0]), np.array([edge_y - 0.2, edge_y + 0.2]))
    assert pts.tolist() == [False, True]


def test_the_wall_a_camera_is_mounted_on_does_not_blind_it() -> None:
    block = shapely.box(-5.0, -5.0, 5.0, 5.0)
    cam = Camera(4.9, 0.0, bearing_deg=90.0, fov_deg=90.0, range_m=30.0)
    assert sees(cam, Walls([block]), np.array([20.0]), np.array([0.0])).tolist() == [True]


def test_view_area_shrinks_with_walls() -> None:
    cam = Camera(0.0, 0.0, fov_deg=360.0, range_m=50.0)
    open_view = camera_view(cam, Walls())
    walled = camera_view(cam, Walls([shapely.box(5, -50, 6, 50)]))  # a long wall to the east
    assert walled.area < open_view.area * 0.6
    assert walled.is_valid


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-40, 40), st.floats(-40, 40), st.floats(2, 10), st.floats(2, 10)),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.tuples(st.floats(-45, 45), st.floats(-45, 45)), min_size=1, max_size=20),
)
def test_visibility_agrees_with_line_of_sight(
    boxes: list[tuple[float, float, float, float]], points: list[tuple[float, float]]
) -> None:
    polys = [shapely.box(x, y, x + w, y + h) for x, y, w, h in boxes]
    polys = [p for p in polys if p.distance(shapely.Point(0, 0)) > 0.05]
    cam = Camera(0.0, 0.0, fov_deg=360.0, range_m=50.0)
    view = camera_view(cam, Walls(polys))
    blockers = shapely.union_all(polys) if polys else shapely.Polygon()
    for x, y in points:
        p = shapely.Point(x, y)
        if view.boundary.distance(p) < 0.05 or blockers.boundary.distance(p) < 0.05:
            continue  # on an edge: either answer is fine
        sight = shapely.LineString([(0, 0), (x, y)])
        expected = math.hypot(x, y) <= 50.0 and not sight.intersects(blockers)
        assert view.intersects(p) == expected
