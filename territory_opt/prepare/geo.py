"""Route-network geometry: every customer's logistical shoulder.

The shoulder is how far (and how long) a customer sits from its serving depot: the depot's straight leg onto the
route network, the shortest path along the network, and the straight leg from the customer's nearest network point
to the customer. Pure functions on arrays in one metric CRS (metres); nothing here reads files or knows the CLI.

The graph is built once from the route LineStrings: lines are split where they cross (`shapely.node`), every
vertex becomes a node (coordinates rounded to the millimetre, so touching lines share nodes) and every straight
piece an edge with its length and speed. A line that stops just short of another (a digitising gap) is joined to it
by a straight edge of the gap's length. Depots and customers are then snapped to their nearest segment with a
`shapely.STRtree`, and one multi-source Dijkstra run from all depots gives every node its distance and nearest depot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

NODE_DECIMALS = 3  # node identity: vertices equal to the millimetre are one node
AT_NODE_M = 1e-3  # a snap this close to a segment's end reuses the end node instead of splitting the segment
MATCH_M = 1e-2  # a noded piece inherits the speed of every source line within this distance (the fastest wins)
MIN_WEIGHT = 1e-9  # sparse graphs treat a zero weight as "no edge"; a zero-length leg must stay an edge
M_PER_KMH_MINUTE = 1000.0 / 60.0  # metres covered in one minute at 1 km/h


@dataclass(frozen=True)
class Network:
    """An undirected route graph: nodes are distinct vertices, edges straight segments with length and speed.

    `edge_line` is the source line of each edge (-1 for added legs); snapping uses it so a line's dangling end is not
    joined back onto the same line.
    """

    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_m: np.ndarray
    edge_kmh: np.ndarray
    edge_line: np.ndarray
    n_joined: int = 0

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def segments(self) -> np.ndarray:
        """Every edge as a two-point LineString, for STRtree queries."""
        return shapely.linestrings(np.stack([self.node_xy[self.edge_u], self.node_xy[self.edge_v]], axis=1))

    def with_edges(self, node_xy: np.ndarray, keep: np.ndarray, u: np.ndarray, v: np.ndarray, m: np.ndarray,
                   kmh: np.ndarray, line: np.ndarray) -> Network:
        """A copy with nodes replaced, only the `keep` edges kept, and the given edges appended."""
        return Network(
            node_xy=node_xy,
            edge_u=np.concatenate([self.edge_u[keep], u]).astype(np.int64),
            edge_v=np.concatenate([self.edge_v[keep], v]).astype(np.int64),
            edge_m=np.concatenate([self.edge_m[keep], m]).astype(float),
            edge_kmh=np.concatenate([self.edge_kmh[keep], kmh]).astype(float),
            edge_line=np.concatenate([self.edge_line[keep], line]).astype(np.int64),
            n_joined=self.n_joined,
        )


@dataclass(frozen=True)
class Shoulders:
    """Per customer: serving depot (index into the depots, -1 for none), shoulder in km and minutes.

    `fallback` marks customers whose nearest stretch of network reaches no depot: their shoulder is the straight
    line to the nearest depot x the detour factor, as if there were no routes.
    """

    depot: np.ndarray
    km: np.ndarray
    minutes: np.ndarray
    fallback: np.ndarray


# --- building the graph --------------------------------------------------------------------------------------------


def _line_parts(lines: np.ndarray, speed_kmh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single LineStrings with their speed; MultiLineStrings are exploded, empty and zero-length parts dropped."""
    lines = np.asarray(lines, dtype=object)
    present = ~(shapely.is_missing(lines) | shapely.is_empty(lines))
    parts, index = shapely.get_parts(lines[present], return_index=True)
    speeds = np.asarray(speed_kmh, dtype=float)[present][index]
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING) & (shapely.length(parts) > 0)
    return parts[keep], speeds[keep]


def _noded_pieces(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end coordinates of every straight piece once all lines are split at their crossings."""
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(parts)))
    coords, index = shapely.get_coordinates(noded, return_index=True)
    same = index[:-1] == index[1:]
    return coords[:-1][same], coords[1:][same]


def _piece_attributes(a: np.ndarray, b: np.ndarray, parts: np.ndarray,
                      speeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Speed and source line of each noded piece: the fastest source line lying on the piece's midpoint."""
    middle = shapely.points((a + b) / 2.0)
    piece, line = shapely.STRtree(parts).query(middle, predicate="dwithin", distance=MATCH_M)
    order = np.lexsort((line, -speeds[line], piece))
    piece, line = piece[order], line[order]
    first = np.r_[True, piece[1:] != piece[:-1]]
    best_line = np.full(len(a), -1, dtype=np.int64)
    best_line[piece[first]] = line[first]
    lost = best_line < 0  # only if noding moved a piece off every source line: take the nearest one
    if lost.any():
        best_line[lost] = shapely.STRtree(parts).query_nearest(middle[lost], all_matches=False)[1]
    return speeds[best_line], best_line


def _dedupe(net: Network) -> Network:
    """One edge per node pair (the faster copy of overlapping lines), no loops."""
    lo, hi = np.minimum(net.edge_u, net.edge_v), np.maximum(net.edge_u, net.edge_v)
    order = np.lexsort((net.edge_m, -net.edge_kmh, hi, lo))
    first = np.r_[True, (lo[order][1:] != lo[order][:-1]) | (hi[order][1:] != hi[order][:-1])]
    keep = np.zeros(net.n_edges, dtype=bool)
    keep[order[first]] = True
    keep &= lo != hi
    empty = np.zeros(0)
    return net.with_edges(net.node_xy, keep, empty, empty, empty, empty, empty)


def _graph(parts: np.ndarray, speeds: np.ndarray) -> Network:
    """Nodes from rounded vertices, one edge per noded piece, speeds carried over from the source lines."""
    a, b = _noded_pieces(parts)
    kmh, line = _piece_attributes(a, b, parts, speeds)
    node_xy, inverse = np.unique(np.round(np.vstack([a, b]), NODE_DECIMALS), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    u, v = inverse[: len(a)], inverse[len(a):]
    m = np.hypot(*(node_xy[u] - node_xy[v]).T)
    return _dedupe(Network(node_xy, u, v, m, kmh, line))


def split_at(net: Network, seg: np.ndarray, offset: np.ndarray) -> tuple[Network, np.ndarray]:
    """Nodes at `offset` metres along edges `seg` (measured from `edge_u`), splitting edges where needed.

    Returns the new network and the node of each request; requests at the same point share one new node, and a
    request within a millimetre of an edge's end reuses that end.
    """
    seg = np.asarray(seg, dtype=np.int64)
    offset = np.asarray(offset, dtype=float)
    node = np.where(offset <= AT_NODE_M, net.edge_u[seg], net.edge_v[seg])
    inner = (offset > AT_NODE_M) & (offset < net.edge_m[seg] - AT_NODE_M)
    if not inner.any():
        return net, node
    key = np.column_stack([seg[inner], np.round(offset[inner], NODE_DECIMALS)])
    points, inverse = np.unique(key, axis=0, return_inverse=True)
    p_seg, p_off = points[:, 0].astype(np.int64), points[:, 1]
    new = net.n_nodes + np.arange(len(points))
    node[inner] = new[inverse.ravel()]
    start, end = net.node_xy[net.edge_u[p_seg]], net.node_xy[net.edge_v[p_seg]]
    new_xy = start + (end - start) * (p_off / net.edge_m[p_seg])[:, None]
    cut = np.unique(p_seg)
    chain_seg = np.concatenate([cut, p_seg, cut])
    chain_off = np.concatenate([np.zeros(len(cut)), p_off, net.edge_m[cut]])
    chain_node = np.concatenate([net.edge_u[cut], new, net.edge_v[cut]])
    order = np.lexsort((chain_off, chain_seg))
    s, o, n = chain_seg[order], chain_off[order], chain_node[order]
    same = s[:-1] == s[1:]
    keep = np.ones(net.n_edges, dtype=bool)
    keep[cut] = False
    piece_of = s[:-1][same]
    split = net.with_edges(np.vstack([net.node_xy, new_xy]), keep, n[:-1][same], n[1:][same],
                           (o[1:] - o[:-1])[same], net.edge_kmh[piece_of], net.edge_line[piece_of])
    return split, node


def _join_dangling(net: Network, tolerance_m: float) -> Network:
    """Join each dangling line end to the nearest other line within `tolerance_m` by a straight edge of the gap.

    The gap edge keeps the dangling line's speed. Lines of the same source line are skipped, so a curved road's
    end is not short-cut back onto its own earlier vertices.
    """
    degree = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.n_nodes)
    ends = np.flatnonzero(degree == 1)
    if not len(ends):
        return net
    own = np.full(net.n_nodes, -1, dtype=np.int64)
    own[net.edge_u] = np.arange(net.n_edges)
    own[net.edge_v] = np.arange(net.n_edges)
    own_edge = own[ends]
    segs = net.segments()
    points = shapely.points(net.node_xy[ends])
    end_i, seg_i = shapely.STRtree(segs).query(points, predicate="dwithin", distance=tolerance_m)
    other = ((net.edge_line[seg_i] != net.edge_line[own_edge[end_i]]) & (net.edge_u[seg_i] != ends[end_i])
             & (net.edge_v[seg_i] != ends[end_i]))
    end_i, seg_i = end_i[other], seg_i[other]
    if not len(end_i):
        return net
    gap = shapely.distance(points[end_i], segs[seg_i])
    order = np.lexsort((seg_i, gap, end_i))
    end_i, seg_i = end_i[order], seg_i[order]
    first = np.r_[True, end_i[1:] != end_i[:-1]]
    end_i, seg_i = end_i[first], seg_i[first]
    kmh, line = net.edge_kmh[own_edge[end_i]], net.edge_line[own_edge[end_i]]
    split, target = split_at(net, seg_i, shapely.line_locate_point(segs[seg_i], points[end_i]))
    source = ends[end_i]
    gap_m = np.hypot(*(split.node_xy[source] - split.node_xy[target]).T)
    joined = split.with_edges(split.node_xy, np.ones(split.n_edges, dtype=bool), source, target, gap_m, kmh, line)
    return _dedupe(Network(joined.node_xy, joined.edge_u, joined.edge_v, joined.edge_m, joined.edge_kmh,
                           joined.edge_line, n_joined=len(source)))


def build_network(lines: np.ndarray, speed_kmh: np.ndarray, *, snap_tolerance_m: float = 50.0) -> Network:
    """The route graph of LineStrings (metres) with one speed each; dangling ends within the tolerance are joined."""
    parts, speeds = _line_parts(lines, speed_kmh)
    if not len(parts):
        empty = np.zeros(0)
        return Network(np.zeros((0, 2)), empty.astype(np.int64), empty.astype(np.int64), empty, empty,
                       empty.astype(np.int64))
    net = _graph(parts, speeds)
    return _join_dangling(net, snap_tolerance_m) if snap_tolerance_m > 0 else net


def route_network(routes: gpd.GeoDataFrame, *, default_speed_kmh: float, snap_tolerance_m: float) -> Network:
    """The graph of a routes layer; lines without `speed_kmh` run at `default_speed_kmh`."""
    speeds = np.full(len(routes), default_speed_kmh, dtype=float)
    if "speed_kmh" in routes:
        given = routes["speed_kmh"].to_numpy(dtype=float, na_value=np.nan)
        speeds = np.where(np.isfinite(given) & (given > 0), given, default_speed_kmh)
    return build_network(routes.geometry.to_numpy(), speeds, snap_tolerance_m=snap_tolerance_m)


# --- shortest paths from the depots ---------------------------------------------------------------------------------


def _minutes(metres: np.ndarray, kmh: np.ndarray | float) -> np.ndarray:
    return np.asarray(metres, dtype=float) / (np.asarray(kmh, dtype=float) * M_PER_KMH_MINUTE)


def _matrix(net: Network, weight: np.ndarray) -> csr_matrix:
    """Both directions of every edge (Dijkstra then runs directed, which scipy documents as exact)."""
    rows = np.concatenate([net.edge_u, net.edge_v])
    cols = np.concatenate([net.edge_v, net.edge_u])
    data = np.maximum(np.concatenate([weight, weight]), MIN_WEIGHT)
    return coo_matrix((data, (rows, cols)), shape=(net.n_nodes, net.n_nodes)).tocsr()


def _attach_depots(net: Network, depot_xy: np.ndarray, leg_speed_kmh: float) -> tuple[Network, Network, np.ndarray]:
    """The network split at each depot's nearest point, and that plus one straight leg per depot.

    Depots become nodes `n .. n + k - 1` of the second network, whose legs run at `leg_speed_kmh`.
    """
    points = shapely.points(depot_xy)
    segs = net.segments()
    seg = shapely.STRtree(segs).query_nearest(points, all_matches=False)[1]
    routes, target = split_at(net, seg, shapely.line_locate_point(segs[seg], points))
    depots = routes.n_nodes + np.arange(len(depot_xy))
    node_xy = np.vstack([routes.node_xy, depot_xy])
    leg_m = np.hypot(*(node_xy[depots] - node_xy[target]).T)
    full = routes.with_edges(node_xy, np.ones(routes.n_edges, dtype=bool), depots, target, leg_m,
                             np.full(len(depots), leg_speed_kmh), np.full(len(depots), -1))
    return routes, full, depots


def distances_from_depots(net: Network, depots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node: metres to the nearest depot node, minutes along that same path, and that depot's node (-1: none).

    The depot is chosen by distance; the minutes are those of the shortest-distance path (a second Dijkstra over
    its tree with time weights), not of the fastest path, so km and minutes describe one and the same route.
    """
    dist, pred, source = dijkstra(_matrix(net, net.edge_m), indices=depots, min_only=True, return_predecessors=True)
    reached = np.flatnonzero(pred >= 0)
    edge_minutes = _matrix(net, _minutes(net.edge_m, net.edge_kmh))
    step = np.asarray(edge_minutes[pred[reached], reached]).ravel()
    tree = coo_matrix((np.maximum(step, MIN_WEIGHT), (pred[reached], reached)), shape=edge_minutes.shape).tocsr()
    minutes = dijkstra(tree, indices=depots, min_only=True)
    source = np.where(source >= 0, source, -1).astype(np.int64)
    return dist, minutes, source


# --- customers ------------------------------------------------------------------------------------------------------


def _best_per_customer(customer: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Position of the smallest total per customer (ties between equally near segments)."""
    order = np.lexsort((total, customer))
    first = np.r_[True, customer[order][1:] != customer[order][:-1]]
    return order[first]


def straight_shoulders(customer_xy: np.ndarray, depot_xy: np.ndarray, *, detour_factor: float,
                       speed_kmh: float) -> Shoulders:
    """Without a network: straight line to the nearest depot x the detour factor, driven at `speed_kmh`."""
    n = len(customer_xy)
    if not len(depot_xy):
        return Shoulders(np.full(n, -1, dtype=np.int64), np.full(n, np.nan), np.full(n, np.nan),
                         np.zeros(n, dtype=bool))
    dist, depot = cKDTree(depot_xy).query(customer_xy, k=1)
    metres = dist * detour_factor
    return Shoulders(depot.astype(np.int64), metres / 1000.0, _minutes(metres, speed_kmh), np.zeros(n, dtype=bool))


def network_shoulders(customer_xy: np.ndarray, depot_xy: np.ndarray, net: Network, *, detour_factor: float,
                      leg_speed_kmh: float, road_speed_kmh: float) -> Shoulders:
    """Depot leg + shortest network path + the customer's straight leg from its nearest network point.

    The customer's network point is its projection on the nearest segment; the path reaches it through whichever
    end of that segment is nearer to a depot. Customers whose segment reaches no depot fall back to the straight
    line x `detour_factor` at `road_speed_kmh` and are marked in `fallback`.
    """
    routes, full, depot_nodes = _attach_depots(net, depot_xy, leg_speed_kmh)
    dist, minutes, source = distances_from_depots(full, depot_nodes)
    points = shapely.points(customer_xy)
    segs = routes.segments()
    (customer, seg), leg = shapely.STRtree(segs).query_nearest(points, return_distance=True, all_matches=True)
    offset = shapely.line_locate_point(segs[seg], points[customer])
    u, v, length = routes.edge_u[seg], routes.edge_v[seg], routes.edge_m[seg]
    via_u, via_v = dist[u] + offset, dist[v] + (length - offset)
    use_u = via_u <= via_v
    best = _best_per_customer(customer, np.minimum(via_u, via_v) + leg)
    customer, seg, leg, use_u = customer[best], seg[best], leg[best], use_u[best]
    end = np.where(use_u, u[best], v[best])
    along = np.where(use_u, offset[best], length[best] - offset[best])
    km = np.full(len(customer_xy), np.nan)
    mins = np.full(len(customer_xy), np.nan)
    depot = np.full(len(customer_xy), -1, dtype=np.int64)
    km[customer] = (dist[end] + along + leg) / 1000.0
    mins[customer] = minutes[end] + _minutes(along, routes.edge_kmh[seg]) + _minutes(leg, leg_speed_kmh)
    depot[customer] = np.where(source[end] >= 0, source[end] - depot_nodes[0], -1)
    fallback = ~np.isfinite(km)
    if fallback.any():
        straight = straight_shoulders(customer_xy[fallback], depot_xy, detour_factor=detour_factor,
                                      speed_kmh=road_speed_kmh)
        km[fallback], mins[fallback], depot[fallback] = straight.km, straight.minutes, straight.depot
    return Shoulders(depot, km, mins, fallback)


def customer_shoulders(customer_xy: np.ndarray, depot_xy: np.ndarray, net: Network | None, *, detour_factor: float,
                       leg_speed_kmh: float, road_speed_kmh: float) -> Shoulders:
    """Shoulders along the network when there is one with edges, else straight line x detour; no depots: NaN."""
    customer_xy = np.asarray(customer_xy, dtype=float).reshape(-1, 2)
    depot_xy = np.asarray(depot_xy, dtype=float).reshape(-1, 2)
    if net is None or net.n_edges == 0 or not len(depot_xy) or not len(customer_xy):
        return straight_shoulders(customer_xy, depot_xy, detour_factor=detour_factor, speed_kmh=road_speed_kmh)
    return network_shoulders(customer_xy, depot_xy, net, detour_factor=detour_factor, leg_speed_kmh=leg_speed_kmh,
                             road_speed_kmh=road_speed_kmh)


def shoulder_bands(km: np.ndarray, names: Sequence[str], upper_km: Sequence[float]) -> np.ndarray:
    """Band name per shoulder: band i holds `upper_km[i-1] <= km < upper_km[i]`; the last band is unbounded.

    `upper_km` has one edge fewer than `names`; a missing shoulder (NaN) gets ''.
    """
    km = np.asarray(km, dtype=float)
    index = np.searchsorted(np.asarray(upper_km, dtype=float), np.nan_to_num(km, nan=0.0), side="right")
    bands = np.asarray(list(names), dtype=object)[np.minimum(index, len(names) - 1)]
    bands[~np.isfinite(km)] = ""
    return bands


# --- travel between points -------------------------------------------------------------------------------------------


def network_graphs(net: Network) -> tuple[csr_matrix, csr_matrix]:
    """(seconds, metres) of every edge in both directions, for shortest paths between nodes."""
    return _matrix(net, _minutes(net.edge_m, net.edge_kmh) * 60.0), _matrix(net, net.edge_m)


def snap_points(net: Network, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each point's nearest segment: its two end nodes (P, 2), metres along it to each end (P, 2), seconds along it
    to each end at the segment's speed (P, 2), and the straight leg from the point to the segment (P,)."""
    points = shapely.points(np.asarray(xy, dtype=float).reshape(-1, 2))
    segs = net.segments()
    (_, seg), leg = shapely.STRtree(segs).query_nearest(points, return_distance=True, all_matches=False)
    offset = shapely.line_locate_point(segs[seg], points)
    along = np.column_stack([offset, net.edge_m[seg] - offset]).clip(min=0.0)
    seconds = _minutes(along, net.edge_kmh[seg][:, None]) * 60.0
    return np.column_stack([net.edge_u[seg], net.edge_v[seg]]), along, seconds, np.asarray(leg, dtype=float)
