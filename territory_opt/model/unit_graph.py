"""The units' adjacency graph: pieces, and the graph one team sees (units without its customers contracted away).

Shared by the preparation (joining islands), the solver's contiguity rule and the judge in `metrics.py`.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra


def components(edges: np.ndarray, n: int) -> np.ndarray:
    """(n,) component label of each node (labels in order of each component's lowest node)."""
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    for u, v in edges.tolist():
        a, b = find(u), find(v)
        if a != b:
            parent[max(a, b)] = min(a, b)
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    _, label = np.unique(roots, return_inverse=True)
    return label.reshape(-1).astype(np.int64)


def length_graph(edges: np.ndarray, unit_xy: np.ndarray) -> csr_matrix:
    """(U, U) the edges weighted by centre-to-centre metres, for shortest paths (undirected: u < v once each; a
    zero length would read as no edge, so none is below a millimetre)."""
    n = len(unit_xy)
    step = unit_xy[edges[:, 0]] - unit_xy[edges[:, 1]]
    length = np.maximum(np.hypot(step[:, 0], step[:, 1]), 1e-3)
    return coo_matrix((length, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()


def catchments(edges: np.ndarray, unit_xy: np.ndarray, has_customers: np.ndarray) -> np.ndarray:
    """(U,) for each unit, the unit with the team's customers it belongs to on the team's map: itself when it has
    them, else the nearest such unit along the units' borders (centre-to-centre metres; -1 when none is reachable).
    Each catchment is one connected piece of units, so a territory drawn as its units' catchments is one piece
    exactly when its units are connected in `team_edges`."""
    n = len(has_customers)
    own = np.flatnonzero(has_customers)
    if len(own) == n:
        return np.arange(n, dtype=np.int64)
    if len(own) == 0 or len(edges) == 0:
        return np.where(has_customers, np.arange(n), -1).astype(np.int64)
    dist, _, source = dijkstra(length_graph(edges, unit_xy), directed=False, indices=own, min_only=True,
                               return_predecessors=True)
    out = np.where(np.isfinite(dist), source, -1).astype(np.int64)
    out[own] = own
    return out


def team_edges(edges: np.ndarray, unit_xy: np.ndarray, units_of_team: np.ndarray) -> np.ndarray:
    """The adjacency one team sees among the units holding its customers: two of them are neighbours when their
    catchments (`catchments`: each unit without the team's customers joins the nearest unit with them) share a
    border. A team present in every unit sees the units' borders unchanged. The graph is planar, the map draws
    it: an empty postcode between two towns joins one of them, so it neither cuts a territory nor lets two
    territories cross it (as joining every pair around it would)."""
    n_units = len(unit_xy)
    has = np.zeros(n_units, dtype=bool)
    has[units_of_team[units_of_team >= 0]] = True
    if has.all() or len(edges) == 0:
        return edges
    catch = catchments(edges, unit_xy, has)
    a, b = catch[edges[:, 0]], catch[edges[:, 1]]
    keep = (a >= 0) & (b >= 0) & (a != b)
    pairs = np.sort(np.column_stack([a[keep], b[keep]]), axis=1)
    return np.unique(pairs, axis=0).astype(np.int64).reshape(-1, 2)
