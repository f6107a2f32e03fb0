"""Which rows an estimator was fit on, for auditing it after ``fit`` (e.g. in a scorer).

The rows are kept in a registry outside the estimator, weakly keyed by the estimator
object: they live as long as the fitted estimator does, never enter its pickle, and a
``clone`` starts without them.
"""

from __future__ import annotations

import contextlib
import weakref

__all__ = ["get_fit_data", "record_fit_data"]

_REGISTRY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def record_fit_data(estimator, X, y, *, groups=None) -> None:
    """Remember the training rows of ``estimator`` (no copy: a reference to ``X``, ``y``).

    Estimators of skfedmia call this in ``fit``; wrap your own estimator's ``fit`` with it
    to make it auditable by :func:`~skfedmia.make_membership_scorer`.

    Parameters
    ----------
    estimator : object
        The estimator being fitted.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    groups : list of ndarray, default=None
        Row indices of each group (each node of a federation), so a part can be audited.
    """
    with contextlib.suppress(TypeError):  # not weak-referenceable: nothing is recorded
        _REGISTRY[estimator] = (X, y, groups)


def get_fit_data(estimator):
    """The ``(X, y, groups)`` that ``estimator`` was last fit on, or ``None``.

    Parameters
    ----------
    estimator : object

    Returns
    -------
    data : tuple (X, y, groups) or None
    """
    try:
        return _REGISTRY.get(estimator)
    except TypeError:
        return None
