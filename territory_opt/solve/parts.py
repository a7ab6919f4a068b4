"""Independent parts of a problem: needs and reps that no rule connects can be solved apart.

Two needs are connected when some rep may take both (same team, skills and zone pins allow it) or when they belong
to the same customer and the contact cap can bind there (the customer has more needs than its cap). Once hard
boundaries pin every rep to a depot or distributor zone, each zone's needs and reps form their own part; separate
teams with no shared rep do too. Rules that count over the whole alignment (`max_moved_customers`,
`max_moved_value`) join everything.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..model.problem import Problem
from .rules import group_members, need_groups


def independent_parts(problem: Problem) -> tuple[np.ndarray, np.ndarray, int]:
    """(part of each need, part of each rep, number of parts); reps no need may use join part 0.

    Parts are numbered by their first need, so the numbering is deterministic.
    """
    n, r = problem.n_needs, problem.n_reps
    if problem.max_moved is not None or problem.max_moved_value is not None or n == 0:
        return np.zeros(n, np.int64), np.zeros(r, np.int64), 1
    groups = list(need_groups(problem).items())
    need_group = np.empty(n, np.int64)
    src, dst = [], []
    for g, (key, needs) in enumerate(groups):
        need_group[needs] = g
        members = group_members(problem, key)
        src.append(np.full(len(members), g, np.int64))
        dst.append(len(groups) + members)
    locked = np.flatnonzero(problem.need_locked_rep >= 0)  # a lock keeps its rep in the part, even an ineligible one
    src.append(need_group[locked])
    dst.append(len(groups) + problem.need_locked_rep[locked])
    # the contact cap can only bind on a customer with more needs than its cap: those needs stay together
    binding = (np.bincount(problem.need_customer, minlength=problem.n_customers) > problem.customer_caps)
    order = np.lexsort((need_group, problem.need_customer))  # a customer's needs side by side
    customer = problem.need_customer[order]
    same = (customer[1:] == customer[:-1]) & binding[customer[1:]]
    src.append(need_group[order][:-1][same])
    dst.append(need_group[order][1:][same])
    rows, cols = np.concatenate(src), np.concatenate(dst)
    size = len(groups) + r
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    need_label = label[need_group]
    labels, first = np.unique(need_label, return_index=True)
    numbering = np.full(int(label.max()) + 1, -1, np.int64)
    numbering[labels[np.argsort(first)]] = np.arange(len(labels))
    rep_part = numbering[label[len(groups):]]
    rep_part[rep_part < 0] = 0
    return numbering[need_label], rep_part, len(labels)
