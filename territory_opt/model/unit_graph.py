"""The units' adjacency graph: pieces, and the graph one team sees (units without its customers contracted away).

Shared by the preparation (joining islands), the solver's contiguity rule and the judge in `metrics.py`.
"""

from __future__ import annotations

import numpy as np


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


def team_edges(edges: np.ndarray, n_units: int, units_of_team: np.ndarray) -> np.ndarray:
    """The adjacency one team sees: among the units holding its customers, two touch when they share a border or
    are linked through units without its customers (a specialist's customers are sparse; the units between them
    must not cut its territory)."""
    has = np.zeros(n_units, dtype=bool)
    has[units_of_team[units_of_team >= 0]] = True
    return contract_empty(edges, has)
