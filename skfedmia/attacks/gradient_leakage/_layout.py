"""Column layout of a mixed-type table: one-hot categorical groups and continuous columns."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ...utils._validation import check_params

__all__ = ["ColumnLayout"]


def _as_index_list(values, name, n_features):
    try:
        idx = [int(i) for i in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list of column indices, got {values!r}.") from None
    for i, v in zip(idx, values):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral | np.integer):
            raise TypeError(f"{name} must hold integer column indices, got {v!r}.")
        if not 0 <= i < n_features:
            raise ValueError(f"{name} holds column {i}, outside [0, {n_features}).")
    return idx


class ColumnLayout:
    """Which columns of an encoded table are one-hot groups and which are continuous.

    Gradient inversion of a mixed-type table relaxes every categorical feature (a group of
    one-hot columns) onto the probability simplex and every continuous column into its
    range, and scores a reconstruction feature by feature (:func:`tabular_scores`).

    Parameters
    ----------
    n_features : int
        Width of the encoded table.
    categorical : list of list of int, default=()
        One list of column indices per categorical feature (its one-hot columns). A
        group needs at least two columns.
    continuous : list of int, default=()
        Indices of the continuous columns.
    bounds : array-like of shape (n_continuous, 2) or None, default=None
        Range ``[low, high]`` of every continuous column, in the order of
        ``continuous``; ``None`` takes the observed range of the data the attack is
        fitted on.
    names : list of str or None, default=None
        One name per feature (categorical groups first, then continuous columns).
        Every column must belong to exactly one group or be continuous.

    Examples
    --------
    >>> from skfedmia.attacks.gradient_leakage import ColumnLayout
    >>> layout = ColumnLayout(5, categorical=[[0, 1, 2]], continuous=[3, 4])
    >>> layout.n_categorical, layout.n_continuous, layout.n_fields
    (1, 2, 3)
    """

    _parameter_constraints: dict = {
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "categorical": [list, tuple],
        "continuous": ["array-like"],
        "bounds": ["array-like", None],
        "names": ["array-like", None],
    }

    def __init__(self, n_features, categorical=(), continuous=(), bounds=None, names=None):
        params = {
            "n_features": n_features,
            "categorical": categorical,
            "continuous": continuous,
            "bounds": bounds,
            "names": names,
        }
        check_params(self, params)
        self.n_features = int(n_features)
        if isinstance(categorical, str) or not hasattr(categorical, "__iter__"):
            raise TypeError(f"categorical must be a list of column lists, got {categorical!r}.")
        groups = []
        for k, group in enumerate(categorical):
            if isinstance(group, str) or not hasattr(group, "__iter__"):
                raise TypeError(f"categorical[{k}] must be a list of column indices.")
            idx = _as_index_list(group, f"categorical[{k}]", self.n_features)
            if len(idx) < 2:
                raise ValueError(f"categorical[{k}] must hold at least 2 columns, got {idx}.")
            groups.append(idx)
        self.categorical = groups
        if isinstance(continuous, str) or not hasattr(continuous, "__iter__"):
            raise TypeError(f"continuous must be a list of column indices, got {continuous!r}.")
        self.continuous = _as_index_list(continuous, "continuous", self.n_features)
        used = [i for g in groups for i in g] + self.continuous
        counts = np.bincount(np.asarray(used, dtype=np.int64), minlength=self.n_features)
        twice = np.flatnonzero(counts > 1)
        if twice.size:
            raise ValueError(f"columns {twice.tolist()} are declared more than once.")
        missing = np.flatnonzero(counts == 0)
        if missing.size:
            raise ValueError(
                f"columns {missing.tolist()} are neither in a categorical group nor continuous."
            )
        if bounds is not None:
            bounds = np.asarray(bounds, dtype=np.float64)
            if bounds.shape != (len(self.continuous), 2):
                raise ValueError(
                    f"bounds must have shape ({len(self.continuous)}, 2), got {bounds.shape}."
                )
            if not (np.isfinite(bounds).all() and (bounds[:, 0] < bounds[:, 1]).all()):
                raise ValueError("bounds must be finite with low < high in every row.")
        self.bounds = bounds
        n_fields = len(groups) + len(self.continuous)
        if names is not None:
            names = [str(n) for n in names]
            if len(names) != n_fields:
                raise ValueError(f"names must hold {n_fields} names, got {len(names)}.")
        self.names = names

    @property
    def n_categorical(self):
        """Number of categorical features."""
        return len(self.categorical)

    @property
    def n_continuous(self):
        """Number of continuous columns."""
        return len(self.continuous)

    @property
    def n_fields(self):
        """Number of features of the original table (groups plus continuous columns)."""
        return self.n_categorical + self.n_continuous

    @property
    def field_names(self):
        """Names of the features, generated when none were given."""
        if self.names is not None:
            return list(self.names)
        return [f"cat{k}" for k in range(self.n_categorical)] + [f"x{i}" for i in self.continuous]

    def __repr__(self):
        return (
            f"ColumnLayout(n_features={self.n_features}, n_categorical={self.n_categorical}, "
            f"n_continuous={self.n_continuous})"
        )

    def check(self, X, name="X"):
        """Raise a ValueError when ``X`` does not follow this layout.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        name : str, default="X"
            Name of ``X`` in the error messages.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} has {X.shape[-1] if X.ndim else 0} columns but the layout declares "
                f"{self.n_features}."
            )
        for k, group in enumerate(self.categorical):
            block = X[:, group]
            if not (np.isin(block, (0.0, 1.0)).all() and (block.sum(1) == 1).all()):
                bad = int(np.flatnonzero(~np.isin(block, (0, 1)).all(1) | (block.sum(1) != 1))[0])
                raise ValueError(
                    f"{name} is not one-hot in categorical group {k} (columns {group}): "
                    f"row {bad} holds {block[bad].tolist()}."
                )
        if self.bounds is not None and self.continuous:
            C = X[:, self.continuous]
            low, high = self.bounds[:, 0], self.bounds[:, 1]
            out = np.less(C, low) | np.greater(C, high)
            if out.any():
                r, c = np.argwhere(out)[0]
                raise ValueError(
                    f"{name}[{r}, {self.continuous[c]}] = {C[r, c]} lies outside the declared "
                    f"bounds [{low[c]}, {high[c]}]."
                )
        return X

    def decode(self, X):
        """Category codes and continuous values: an array of shape (n, n_fields).

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Encoded records, one-hot groups possibly relaxed (the largest entry wins).
        """
        X = np.asarray(X, dtype=np.float64)
        cats = [X[:, g].argmax(1) for g in self.categorical]
        cont = [X[:, i] for i in self.continuous]
        return np.stack(cats + cont, axis=1) if cats or cont else np.zeros((len(X), 0))

    def project(self, X):
        """Snap relaxed records to valid ones: one-hot groups, continuous values in range.

        Parameters
        ----------
        X : array-like of shape (..., n_features)
            Relaxed records; ``X`` itself is left unchanged.
        """
        X = np.array(X, dtype=np.float64, copy=True)
        for g in self.categorical:
            block = X[..., g]
            hot = np.zeros_like(block)
            np.put_along_axis(hot, block.argmax(-1)[..., None], 1.0, axis=-1)
            X[..., g] = hot
        if self.bounds is not None and self.continuous:
            X[..., self.continuous] = np.clip(
                X[..., self.continuous], self.bounds[:, 0], self.bounds[:, 1]
            )
        return X

    def with_bounds(self, X):
        """A copy whose missing bounds are the observed ranges of ``X``.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
            Records whose continuous columns give the ranges.
        """
        if self.bounds is not None or not self.continuous:
            return self
        X = np.asarray(X, dtype=np.float64)
        C = X[:, self.continuous]
        low, high = C.min(0), C.max(0)
        high = np.where(high > low, high, low + 1.0)
        return ColumnLayout(
            self.n_features,
            self.categorical,
            self.continuous,
            bounds=np.stack([low, high], 1),
            names=self.names,
        )

    @classmethod
    def from_encoder(cls, encoder, n_features=None):
        """Infer the layout from a fitted ``OneHotEncoder`` or ``ColumnTransformer``.

        A ``OneHotEncoder`` (without ``drop``) gives one group per input feature. In a
        ``ColumnTransformer`` the output columns of a ``OneHotEncoder`` (alone or at the
        end of a ``Pipeline``) form groups, every other output column is continuous.

        Parameters
        ----------
        encoder : fitted OneHotEncoder or ColumnTransformer
        n_features : int, default=None
            Width of the encoded table, checked against the encoder's output.

        Returns
        -------
        layout : ColumnLayout

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.compose import ColumnTransformer
        >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
        >>> from skfedmia.attacks.gradient_leakage import ColumnLayout
        >>> X = np.array([[0, 1.5], [2, 0.5], [1, 2.0]])
        >>> ct = ColumnTransformer([("cat", OneHotEncoder(), [0]),
        ...                         ("num", StandardScaler(), [1])]).fit(X)
        >>> layout = ColumnLayout.from_encoder(ct)
        >>> layout.categorical, layout.continuous
        ([[0, 1, 2]], [3])
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        def last_step(est):
            return est.steps[-1][1] if isinstance(est, Pipeline) else est

        def groups_of(ohe, offset):
            if getattr(ohe, "drop_idx_", None) is not None:
                raise ValueError("a OneHotEncoder with `drop` leaves groups that are not one-hot.")
            if not hasattr(ohe, "categories_"):
                raise ValueError("the OneHotEncoder is not fitted.")
            out = []
            for cats in ohe.categories_:
                out.append(list(range(offset, offset + len(cats))))
                offset += len(cats)
            return out, offset

        names = []
        if isinstance(encoder, OneHotEncoder):
            groups, width = groups_of(encoder, 0)
            continuous = []
            names = [str(n) for n in getattr(encoder, "feature_names_in_", range(len(groups)))]
        elif isinstance(encoder, ColumnTransformer):
            if not hasattr(encoder, "transformers_"):
                raise ValueError("the ColumnTransformer is not fitted.")
            if getattr(encoder, "sparse_output_", False):
                raise ValueError("the ColumnTransformer must give a dense output.")
            groups, continuous, width = [], [], 0
            cont_names = []
            slices = encoder.output_indices_
            for name, trans, _ in encoder.transformers_:
                sl = slices[name]
                if sl.stop == sl.start or trans == "drop":
                    continue
                step = last_step(trans)
                if isinstance(step, OneHotEncoder):
                    g, stop = groups_of(step, sl.start)
                    if stop != sl.stop:
                        raise ValueError(f"transformer {name!r} does not give one-hot groups.")
                    groups.extend(g)
                    names.extend(f"{name}{k}" for k in range(len(g)))
                else:
                    continuous.extend(range(sl.start, sl.stop))
                    cont_names.extend(f"{name}{k}" for k in range(sl.stop - sl.start))
                width = max(width, sl.stop)
            names = names + cont_names
        else:
            raise TypeError(
                "encoder must be a fitted OneHotEncoder or ColumnTransformer, got "
                f"{type(encoder).__name__}."
            )
        if n_features is not None and n_features != width:
            raise ValueError(f"the encoder gives {width} columns, not n_features={n_features}.")
        return cls(width, groups, continuous, names=names or None)
