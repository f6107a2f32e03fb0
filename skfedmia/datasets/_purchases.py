"""A Purchases-like data generator and the k-means labelling the paper applies to Purchases."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.preprocessing import normalize as sk_normalize
from sklearn.utils import check_random_state

from ..utils._random import draw_seed
from ._base import _as_output

__all__ = ["calibrated_label_taste", "make_purchases", "relabel_kmeans"]

#: Range (inclusive) of the share of ones that :func:`make_purchases` produces with its defaults,
#: whatever the seed and the number of rows. Real Purchases lies in the same range.
DENSITY_RANGE = (0.03, 0.10)
# relabel_kmeans clusters inputs with at most this share of non-zeros in CSR form.
_SPARSE_SHARE = 0.25
# Spread (log scale) of the customers' activity levels.
_ACTIVITY_SIGMA = 0.35
#: Defaults of the generator's knobs, by the number of training rows at which the paper's
#: MLP reaches the test accuracy of the paper's Table I with them (``calibrated_for``).
CALIBRATIONS = {
    10_000: dict(
        n_groups=40, density=0.11, zipf_exponent=0.8, taste_strength=0.6, mixing=0.3, own_taste=0.5
    ),
    5_000: dict(
        n_groups=40,
        density=0.08,
        zipf_exponent=0.8,
        taste_strength=0.6,
        mixing=0.3,
        own_taste=0.0,
        label_taste=0.0,
    ),
}
#: Calibrated default of ``label_taste`` where it depends on the class count (calibrations
#: without an entry here give one value in ``CALIBRATIONS``): ``(n_classes, value)`` points,
#: linear in ``log(n_classes)`` between them and constant beyond the first and the last.
#: At 10,000 rows, k-means' ten clusters of the observed rows have wide margins (the paper's
#: MLP scored 0.84 to 0.99 on them whatever the other knobs, against the paper's 0.781);
#: labelling partly on the customers' tastes brings 10 classes to the paper while 20 classes
#: and more keep their calibrated labels.
LABEL_TASTE = {10_000: ((10, 0.35), (20, 0.0))}


def _check_calibrated_for(calibrated_for):
    if calibrated_for not in CALIBRATIONS or isinstance(calibrated_for, bool):
        raise ValueError(
            f"calibrated_for must be one of {sorted(CALIBRATIONS)} (training rows the "
            f"defaults are calibrated for), got {calibrated_for!r}."
        )


def calibrated_label_taste(n_classes, calibrated_for=10_000):
    """The calibrated default of :func:`make_purchases`' ``label_taste`` at ``n_classes``.

    Parameters
    ----------
    n_classes : int
        Number of classes.
    calibrated_for : {10_000, 5_000}, default=10_000
        Training-set size of the calibration.

    Returns
    -------
    float
        The weight of the customers' tastes in the vectors that k-means labels.

    See Also
    --------
    make_purchases : The generator whose ``label_taste`` defaults to this value.

    Examples
    --------
    >>> from skfedmia.datasets import calibrated_label_taste
    >>> calibrated_label_taste(10), calibrated_label_taste(20), calibrated_label_taste(100)
    (0.35, 0.0, 0.0)
    """
    n_classes = _check_int(n_classes, "n_classes", 2)
    _check_calibrated_for(calibrated_for)
    if "label_taste" in CALIBRATIONS[calibrated_for]:
        return float(CALIBRATIONS[calibrated_for]["label_taste"])
    points = LABEL_TASTE[calibrated_for]
    x = np.log([c for c, _ in points])
    return float(np.interp(np.log(n_classes), x, [v for _, v in points]))


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_float(value, name, low, high, *, low_open=False, high_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must be a number in {lo}{low}, {high}{hi}, got {value!r}.")
    return float(value)


def relabel_kmeans(X, n_classes, *, normalize=True, random_state=None, n_init=1, max_iter=300):
    """Label rows by k-means clustering, as the Purchases benchmark is labelled.

    Shokri et al. (2017) turned the Kaggle "Acquire Valued Shoppers" purchase vectors into a
    classification task by clustering them with k-means; Pustozerova & Mayer (2020) repeat it
    with 10, 20, 50 and 100 clusters. Class ``k`` is the ``k``-th cluster; clusters are
    renumbered by decreasing size (ties by the smallest row index in the cluster), so labels
    do not depend on k-means' internal numbering and class 0 is the largest class.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Rows to cluster (a binary purchase matrix for Purchases). Inputs with at most 25%
        non-zeros are clustered in CSR form (faster; the labels are those of the CSR
        computation, whichever form ``X`` had).
    n_classes : int
        Number of clusters, hence of classes (``2 <= n_classes <= n_samples``).
    normalize : bool, default=True
        Scale every row to unit length first (k-means on the cosine geometry). On sparse
        binary rows, plain k-means leaves many clusters of one or two outlying rows (a class
        with a single record cannot be learnt or attacked); on unit-length rows every class
        keeps a usable share of the rows while sizes stay uneven.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means' initialisation; an int gives the same labels on every call.
    n_init : int, default=1
        Number of k-means initialisations; the best (lowest inertia) is kept.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per initialisation.

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        Class of every row, in ``0 .. n_classes - 1``.

    See Also
    --------
    make_purchases : Purchases-like rows labelled with this function.
    load_purchases : The published Purchases file, relabelled with this function on request.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.datasets import relabel_kmeans
    >>> X = np.array([[0, 0], [0, 1], [9, 9], [9, 8], [9, 9]])
    >>> relabel_kmeans(X, n_classes=2, normalize=False, random_state=0)
    array([1, 1, 0, 0, 0])
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
    else:
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got an array of shape {X.shape}.")
    n_samples = X.shape[0]
    n_classes = _check_int(n_classes, "n_classes", 2)
    if n_classes > n_samples:
        raise ValueError(f"n_classes={n_classes} is larger than the number of rows ({n_samples}).")
    n_init = _check_int(n_init, "n_init", 1)
    max_iter = _check_int(max_iter, "max_iter", 1)
    if not sp.issparse(X) and np.count_nonzero(X) <= _SPARSE_SHARE * X.size:
        # Sparse rows (purchase vectors): k-means on CSR is several times faster.
        X = sp.csr_matrix(X, dtype=np.float64)
    elif not sp.issparse(X):
        # float64: scikit-learn's k-means++ seeding is much slower on float32.
        X = X.astype(np.float64, copy=False)
    if normalize:
        X = sk_normalize(X)
    kmeans = KMeans(
        n_clusters=n_classes,
        n_init=n_init,
        max_iter=max_iter,
        random_state=check_random_state(random_state),
    )
    raw = kmeans.fit_predict(X)
    sizes = np.bincount(raw, minlength=n_classes)
    first = np.full(n_classes, n_samples, dtype=np.int64)
    np.minimum.at(first, raw, np.arange(n_samples))
    order = np.lexsort((first, -sizes))  # largest cluster first, ties by first row
    rank = np.empty(n_classes, dtype=np.int64)
    rank[order] = np.arange(n_classes)
    return rank[raw]


def make_purchases(
    n_samples=10_000,
    n_features=600,
    n_classes=100,
    *,
    calibrated_for=10_000,
    n_groups=None,
    density=None,
    zipf_exponent=None,
    taste_strength=None,
    mixing=None,
    own_taste=None,
    label_taste=None,
    return_X_y=True,
    as_frame=False,
    random_state=None,
):
    """Generate a Purchases-like data set: binary purchase vectors labelled by k-means.

    Every row is a customer, every column a product, 1 meaning "bought at least once". The
    generative story:

    1. Products have a skewed, Zipf-like popularity: the product of rank ``r`` is bought in
       proportion to ``r ** -zipf_exponent``.
    2. There are ``n_groups`` latent customer groups of uneven size (Dirichlet weights). A group
       re-weights product popularity with its own log-normal taste of spread
       ``taste_strength``.
    3. A customer belongs to one group but shares a random part (up to ``mixing``) of their
       taste with a second group, and has their own activity level (log-normal), so customers
       buy a varying number of products; about ``density * n_features`` on average.
    4. As for the real Purchases data (Shokri et al., 2017; Pustozerova & Mayer, 2020), labels
       are not the latent groups: the rows are clustered with k-means into ``n_classes``
       clusters (:func:`relabel_kmeans`), so class sizes are uneven, with a few very small and
       very large classes. With ``label_taste > 0`` k-means clusters each customer's
       purchases blended with their taste (their expected purchases), so that a label is not
       entirely determined by the purchases the model sees.

    The knobs' defaults are calibrated (``calibrated_for``) so that the paper's centralized
    baseline is recognisable: the paper's MLP (``TorchMLPClassifier()``: 600-128 tanh,
    dropout, Adam, learning rate 0.001, 100 epochs) trained on ``calibrated_for`` rows of
    ``make_purchases(n_samples=20_000, ...)`` reaches test accuracy close to the paper's
    Table I as ``n_classes`` grows from 10 to 100 (see ``docs/datasets.md`` and
    ``benchmarks/purchases_calibration.py`` for the measured values).

    Parameters
    ----------
    n_samples : int, default=10_000
        Number of rows (customers).
    n_features : int, default=600
        Number of binary features (products).
    n_classes : int, default=100
        Number of k-means clusters, hence of classes; the paper uses 10, 20, 50 and 100.
    calibrated_for : {10_000, 5_000}, default=10_000
        Training-set size the defaults of the knobs below are calibrated for: 10,000 rows,
        the paper's size, or 5,000 rows (the earlier calibration, kept so that its data can
        be generated again). A knob given explicitly overrides its calibrated default.
    n_groups : int, default=None
        Number of latent customer groups behind the data (calibrated default: 40).
    density : float, default=None
        Mean purchase rate of a customer; the realised share of ones is somewhat lower
        (products a customer is likely to buy saturate). With the defaults it lies in
        ``[0.03, 0.10]`` (about 0.082 calibrated for 10,000 rows, 0.064 for 5,000), the range
        of real purchase data (calibrated default: 0.11).
    zipf_exponent : float, default=None
        Skew of product popularity; 0 makes all products equally popular (calibrated
        default: 0.8).
    taste_strength : float, default=None
        Spread (log scale) of the groups' tastes; larger values give better separated groups
        and an easier classification task (calibrated default: 0.6).
    mixing : float, default=None
        Largest share of a customer's taste taken from a second, random group; larger values
        blur the groups (calibrated default: 0.3).
    own_taste : float, default=None
        Spread (log scale) of every customer's own taste around their group's; larger
        values spread customers within their group and make the task harder, most at few
        classes (0 in the 5,000-row calibration).
    label_taste : float in [0, 1], default=None
        Weight of every customer's taste (their expected purchases) against their observed
        purchases in the vectors k-means labels: ``(1 - label_taste) * X + label_taste *
        P(bought)``. 0 labels the observed rows, as the real data were labelled; larger values
        make the label less a function of the observed row, a harder task. Only the labels
        change; ``X`` is the same for every value. Calibrated default: 0.35 at 10 classes or
        fewer, 0 at 20 classes or more, linear in ``log(n_classes)`` between
        (:func:`calibrated_label_taste`); 0 in the 5,000-row calibration. At 10,000 rows the
        observed rows' ten k-means clusters have wide margins that no setting of the other
        knobs narrowed to the paper's 10-class accuracy.
    return_X_y : bool, default=True
        If True, return ``(X, y)``; else a :class:`~sklearn.utils.Bunch`.
    as_frame : bool, default=False
        If True, ``X`` is a :class:`pandas.DataFrame` and ``y`` a :class:`pandas.Series`
        (and the Bunch has a ``frame``).
    random_state : int, RandomState instance or None, default=None
        Seed of the data and of the k-means labelling; an int gives identical output on
        every call.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float32
        Binary purchase matrix (values 0.0 and 1.0).
    y : ndarray of shape (n_samples,), dtype int64
        Class of every row, in ``0 .. n_classes - 1``; class 0 is the largest.
    data : :class:`~sklearn.utils.Bunch`
        When ``return_X_y=False``: ``data``, ``target``, ``feature_names``, ``target_names``,
        ``frame`` (None unless ``as_frame=True``), ``DESCR`` and ``groups`` (latent group of
        every row).

    See Also
    --------
    load_purchases : The real Purchases file (Shokri et al., 2017).
    relabel_kmeans : The k-means labelling used here.
    attack_split : Disjoint target / shadow / test pools for a membership-inference experiment.

    References
    ----------
    .. [1] R. Shokri, M. Stronati, C. Song, V. Shmatikov. "Membership Inference Attacks
       Against Machine Learning Models", IEEE S&P 2017.
    .. [2] A. Pustozerova, R. Mayer. "Information Leaks in Federated Learning", NDSS DISS 2020.

    Examples
    --------
    >>> from skfedmia.datasets import make_purchases
    >>> X, y = make_purchases(n_samples=1_000, n_classes=10, random_state=0)
    >>> X.shape, X.dtype, y.dtype
    ((1000, 600), dtype('float32'), dtype('int64'))
    >>> sorted(set(y.tolist())) == list(range(10))
    True
    """
    n_samples = _check_int(n_samples, "n_samples", 2)
    n_features = _check_int(n_features, "n_features", 1)
    n_classes = _check_int(n_classes, "n_classes", 2)
    if n_classes > n_samples:
        raise ValueError(f"n_classes={n_classes} is larger than n_samples={n_samples}.")
    _check_calibrated_for(calibrated_for)
    preset = CALIBRATIONS[calibrated_for]
    n_groups = preset["n_groups"] if n_groups is None else n_groups
    density = preset["density"] if density is None else density
    zipf_exponent = preset["zipf_exponent"] if zipf_exponent is None else zipf_exponent
    taste_strength = preset["taste_strength"] if taste_strength is None else taste_strength
    mixing = preset["mixing"] if mixing is None else mixing
    own_taste = preset["own_taste"] if own_taste is None else own_taste
    if label_taste is None:
        label_taste = calibrated_label_taste(n_classes, calibrated_for)
    n_groups = _check_int(n_groups, "n_groups", 1)
    density = _check_float(density, "density", 0.0, 1.0, low_open=True, high_open=True)
    zipf_exponent = _check_float(zipf_exponent, "zipf_exponent", 0.0, np.inf, high_open=True)
    taste_strength = _check_float(taste_strength, "taste_strength", 0.0, np.inf, high_open=True)
    mixing = _check_float(mixing, "mixing", 0.0, 1.0)
    own_taste = _check_float(own_taste, "own_taste", 0.0, np.inf, high_open=True)
    label_taste = _check_float(label_taste, "label_taste", 0.0, 1.0)

    rng = check_random_state(random_state)
    # 1. Zipf-like product popularity, products in random order.
    popularity = np.arange(1, n_features + 1, dtype=np.float64) ** -zipf_exponent
    popularity = popularity[rng.permutation(n_features)]
    # 2. Groups: uneven sizes, each a log-normal re-weighting of popularity; every group's
    #    profile is normalised to mean 1 so that density is governed by the activity alone.
    group_weights = rng.dirichlet(np.full(n_groups, 2.0))
    taste = np.exp(taste_strength * rng.standard_normal((n_groups, n_features)))
    profiles = popularity * taste
    profiles /= profiles.mean(axis=1, keepdims=True)
    # 3. Customers: main group, second group for part of their taste, activity level.
    groups = rng.choice(n_groups, size=n_samples, p=group_weights)
    second = rng.randint(n_groups, size=n_samples)
    share = mixing * rng.random_sample(n_samples)[:, None]
    rate = (1.0 - share) * profiles[groups] + share * profiles[second]
    if own_taste > 0:
        # every customer's own log-normal taste, mean 1 so that density is unchanged
        rate = rate * np.exp(
            own_taste * rng.standard_normal((n_samples, n_features)) - own_taste**2 / 2
        )
    activity = rng.lognormal(mean=0.0, sigma=_ACTIVITY_SIGMA, size=n_samples)
    activity *= density / np.exp(_ACTIVITY_SIGMA**2 / 2)  # mean activity == density
    # P(bought) = 1 - exp(-rate * activity): close to rate * activity when small, never > 1.
    prob = -np.expm1(-rate * activity[:, None])
    X = (rng.random_sample((n_samples, n_features)) < prob).astype(np.float32)
    # 4. Labels by k-means, as for the real data; with label_taste, of the purchases blended
    #    with the customers' expected purchases (no further draws: X is the same either way).
    labelled = X if label_taste == 0 else (1.0 - label_taste) * X + label_taste * prob
    y = relabel_kmeans(labelled, n_classes, random_state=draw_seed(rng))

    feature_names = [f"product_{j}" for j in range(n_features)]
    descr = (
        f"Synthetic Purchases-like data: {n_samples} customers x {n_features} products "
        f"(binary), {n_groups} latent customer groups, labels by k-means into {n_classes} "
        f"classes (label taste {label_taste:g}; skfedmia.datasets.make_purchases)."
    )
    return _as_output(
        X,
        y,
        feature_names=feature_names,
        target_names=np.arange(n_classes),
        descr=descr,
        return_X_y=return_X_y,
        as_frame=as_frame,
        extra={"groups": groups.astype(np.int64)},
    )
