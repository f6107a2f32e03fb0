"""Data for membership-inference experiments: generators, loaders, experiment splits.

- :func:`make_purchases`: built-in, offline Purchases-like data (binary purchase vectors
  labelled by k-means into 10/20/50/100 classes, as the paper labels Purchases).
- :func:`load_location`, :func:`load_purchases`, :func:`load_texas`: the benchmark files in
  the format their authors publish, from a path or the data home, downloaded once on request.
- :func:`relabel_kmeans`: k-means labels, as for Purchases.
- :func:`calibrated_label_taste`: the calibrated ``label_taste`` of :func:`make_purchases`
  at a class count.
- :func:`attack_split`: disjoint target / shadow / test pools.
"""

from ._base import ChecksumError, clear_data_home, get_data_home
from ._loaders import load_location, load_purchases, load_texas
from ._purchases import calibrated_label_taste, make_purchases, relabel_kmeans
from ._split import attack_split

__all__ = [
    "ChecksumError",
    "attack_split",
    "calibrated_label_taste",
    "clear_data_home",
    "get_data_home",
    "load_location",
    "load_purchases",
    "load_texas",
    "make_purchases",
    "relabel_kmeans",
]
