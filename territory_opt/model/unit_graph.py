"""The units' adjacency graph: pieces, and the graph one team sees (units without its customers contracted away).

Shared by the preparation (joining islands), the solver's contiguity rule and the judge in `metrics.py`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay, QhullError


def contract_empty(edges: np.ndarray, has_customers: np.ndarray) -> np.ndarray:
    """Edges among the units with customers, two of them joined when they touch directly or through a chain of
    empty units (an empty postcode between two towns must not cut a territory)."""
    n = len(has_customers)
    graph = _csr(edges, n)
    keep = set()
    seen = np.zeros(n, dtype=bool)
    for u, v in edges.tolist():
        if has_customers[u] and has_customers[v]:
            keep.add((u, v))
    for empty in np.flatnonzero(~has_customers):
        if seen[empty]:
            continue
        component, border, stack = [], set(), [int(empty)]
        seen[empty] = True
        while stack:
            u = stack.pop()
            component.append(u)
            for v in graph[u]:
                if has_customers[v]:
                    border.add(v)
                elif not seen[v]:
                    seen[v] = True
                    stack.append(v)
        ring = sorted(border)
        for i, u in enumerate(ring):
            for v in ring[i + 1:]:
                keep.add((u, v))
    return np.array(sorted(keep), dtype=np.int64).reshape(-1, 2)


def _csr(edges: np.ndarray, n: int) -> list[list[int]]:
    graph: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges.tolist():
        graph[u].append(v)
        graph[v].append(u)
    return graph


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


def delaunay_edges(points: np.ndarray) -> np.ndarray:
    """(E, 2) pairs u < v of Delaunay neighbours among `points` (all pairs when fewer than four)."""
    n = len(points)
    if n < 4:
        return np.array([(u, v) for u in range(n) for v in range(u + 1, n)], dtype=np.int64).reshape(-1, 2)
    try:
        tri = Delaunay(points, qhull_options="QJ Qbb Qc")
    except QhullError:
        return np.zeros((0, 2), dtype=np.int64)
    simplices = tri.simplices
    pairs = np.vstack([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    return np.unique(np.sort(pairs, axis=1), axis=0).astype(np.int64)


DENSE_SHARE = 0.5  # a team with customers in at least this share of the units goes round the others by chains


def team_edges(edges: np.ndarray, unit_xy: np.ndarray, units_of_team: np.ndarray) -> np.ndarray:
    """The adjacency one team sees. A team present in every unit sees the units' borders; one present in most of
    them (a field team beside carve-outs) also links two of its units through a chain of units without its
    customers. A team present in few (a specialist overlay, key accounts) sees, among its own units, the borders
    they share plus the Delaunay neighbours of their centres: the units between its sparse customers must not cut
    its territories, and chains of empty units would make almost every pair of its units neighbours."""
    n_units = len(unit_xy)
    has = np.zeros(n_units, dtype=bool)
    has[units_of_team[units_of_team >= 0]] = True
    if has.all():
        return edges
    if has.mean() >= DENSE_SHARE:
        return contract_empty(edges, has)
    own = np.flatnonzero(has)
    direct = edges[has[edges[:, 0]] & has[edges[:, 1]]] if len(edges) else edges
    near = own[delaunay_edges(unit_xy[own])] if len(own) > 1 else np.zeros((0, 2), np.int64)
    both = np.vstack([direct.reshape(-1, 2), near.reshape(-1, 2)])
    return np.unique(np.sort(both, axis=1), axis=0).astype(np.int64)
