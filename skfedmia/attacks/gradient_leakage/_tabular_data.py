"""A real mixed-type table for tests and benchmarks: the 1996 American National Election
Study extract that statsmodels ships in its wheel (944 voters, no download)."""

from __future__ import annotations

import numpy as np

from ._layout import ColumnLayout

#: Categorical columns of the extract (small integer codes) and its continuous ones.
ANES96_CATEGORICAL = ("PID", "educ", "selfLR", "ClinLR", "DoleLR", "TVnews")
ANES96_CONTINUOUS = ("age", "logpopul", "income")


def load_anes96_encoded():
    """The ANES 1996 extract, one-hot encoded and standardised, with its column layout.

    Six categorical survey answers (party identification, education, self-placement and
    placement of both candidates on a 7-point left-right scale, days watching TV news)
    are one-hot encoded, three continuous columns (age, log population of the county,
    income bracket) are standardised; the label is the vote (0 Clinton, 1 Dole).

    Returns
    -------
    X : ndarray of shape (944, 46), float32
    y : ndarray of shape (944,), int64
    layout : ColumnLayout
    encoder : fitted ColumnTransformer

    Raises
    ------
    ImportError
        When statsmodels (the ``tabular`` extra) is not installed.
    """
    try:
        from statsmodels.datasets import anes96
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The ANES 1996 table ships with statsmodels: pip install 'skfedmia[tabular]'."
        ) from exc
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = anes96.load_pandas().data
    raw = frame[list(ANES96_CATEGORICAL + ANES96_CONTINUOUS)].to_numpy(dtype=np.float64)
    n_cat = len(ANES96_CATEGORICAL)
    encoder = ColumnTransformer(
        [
            ("cat", OneHotEncoder(sparse_output=False), list(range(n_cat))),
            ("num", StandardScaler(), list(range(n_cat, raw.shape[1]))),
        ]
    ).fit(raw)
    X = encoder.transform(raw).astype(np.float32)
    layout = ColumnLayout.from_encoder(encoder, n_features=X.shape[1])
    layout = ColumnLayout(
        layout.n_features,
        layout.categorical,
        layout.continuous,
        names=list(ANES96_CATEGORICAL + ANES96_CONTINUOUS),
    )
    y = frame["vote"].to_numpy().astype(np.int64)
    return X, y, layout, encoder
