"""Splitting rows across the nodes of a federation."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["split_nodes", "PARTITIONS"]

#: Names accepted by ``partition``.
PARTITIONS = ("random", "stratified", "dirichlet")


def _random_split(n_samples, n_nodes, rng):
    return np.array_split(rng.permutation(n_samples), n_nodes)


def _stratified_split(y, n_nodes, rng):
    # deal each class's shuffled rows round-robin, starting where the last class ended,
    # so node sizes differ by at most one and class shares are as equal as they can be
    buckets = [[] for _ in range(n_nodes)]
    start = 0
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        for i, row in enumerate(rows):
            buckets[(start + i) % n_nodes].append(row)
        start = (start + len(rows)) % n_nodes
    return [np.sort(np.asarray(b, dtype=np.intp)) for b in buckets]


def _dirichlet_split(y, n_nodes, alpha, rng):
    # per class, node shares drawn from Dir(alpha): small alpha -> each class at few nodes
    buckets = [[] for _ in range(n_nodes)]
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        shares = rng.dirichlet(np.full(n_nodes, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
        for node, part in enumerate(np.split(rows, cuts)):
            buckets[node].extend(part.tolist())
    return [np.sort(np.asarray(b, dtype=np.intp)) for b in buckets]


def split_nodes(
    y,
    n_nodes: int,
    *,
    partition: str = "random",
    dirichlet_alpha: float = 0.5,
    random_state=None,
) -> list[np.ndarray]:
    """Assign every row to one of ``n_nodes`` nodes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels (used by the stratified and Dirichlet splits).
    n_nodes : int
        Number of nodes.
    partition : {"random", "stratified", "dirichlet"}, default="random"
        ``"random"``: equal random split (the paper's). ``"stratified"``: equal sizes and class
        shares. ``"dirichlet"``: non-IID, each class spread over nodes with shares drawn from a
        symmetric Dirichlet distribution with concentration ``dirichlet_alpha``.
    dirichlet_alpha : float, default=0.5
        Smaller is more skewed; large values approach an IID split.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    node_indices : list of ndarray
        Row indices of each node; disjoint and covering every row.

    Raises
    ------
    ValueError
        If ``n_nodes`` exceeds the number of rows or a node would get no rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.federated import split_nodes
    >>> parts = split_nodes(np.arange(10) % 2, n_nodes=3, random_state=0)
    >>> [len(p) for p in parts]
    [4, 3, 3]
    """
    y = np.asarray(y)
    n_samples = len(y)
    if n_nodes < 1:
        raise ValueError(f"n_nodes must be at least 1, got {n_nodes}.")
    if n_nodes > n_samples:
        raise ValueError(
            f"n_nodes={n_nodes} exceeds the number of rows ({n_samples}); every node needs "
            "at least one row."
        )
    rng = check_random_state(random_state)
    if partition == "random":
        parts = _random_split(n_samples, n_nodes, rng)
    elif partition == "stratified":
        parts = _stratified_split(y, n_nodes, rng)
    elif partition == "dirichlet":
        if not dirichlet_alpha > 0:
            raise ValueError(f"dirichlet_alpha must be > 0, got {dirichlet_alpha}.")
        parts = _dirichlet_split(y, n_nodes, dirichlet_alpha, rng)
    else:
        raise ValueError(f"partition must be one of {PARTITIONS}, got {partition!r}.")
    empty = [i for i, p in enumerate(parts) if len(p) == 0]
    if empty:
        raise ValueError(
            f"partition={partition!r} left node(s) {empty} without rows; use fewer nodes, "
            "a larger dirichlet_alpha, or another random_state."
        )
    return [np.sort(np.asarray(p, dtype=np.intp)) for p in parts]
