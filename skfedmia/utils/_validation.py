"""One way to check parameters: scikit-learn's ``_parameter_constraints``."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)

__all__ = ["check_params"]


def check_params(obj, params=None):
    """Check ``obj``'s parameters against its ``_parameter_constraints``.

    The same check as scikit-learn's ``BaseEstimator._validate_params``, usable by classes
    that do not call it themselves (skorch nets, callbacks, defenses), plus one rule
    scikit-learn leaves out: a real-valued parameter constrained by an interval must be
    finite (``inf`` and ``nan`` are refused).

    Parameters
    ----------
    obj : object
        Any object with ``_parameter_constraints`` and ``get_params``.
    params : dict, default=None
        The values to check; ``obj.get_params(deep=False)`` by default.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        A ``ValueError`` (and ``TypeError``) naming the parameter and what it must be.

    Examples
    --------
    >>> from skfedmia.defenses import ClipNorm
    >>> from skfedmia.utils import check_params
    >>> check_params(ClipNorm(max_norm=-1.0))
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'max_norm' parameter of \
ClipNorm must be a float in the range (0.0, inf). Got -1.0 instead.
    """
    constraints = getattr(obj, "_parameter_constraints", {})
    params = obj.get_params(deep=False) if params is None else params
    name = type(obj).__name__
    validate_parameter_constraints(constraints, params, caller_name=name)
    for key, value in params.items():
        if (
            key in constraints
            and isinstance(value, numbers.Real)
            and not isinstance(value, (bool, numbers.Integral))
            and not np.isfinite(value)
        ):
            raise InvalidParameterError(
                f"The {key!r} parameter of {name} must be a finite number. Got {value!r} instead."
            )
