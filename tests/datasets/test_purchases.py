"""The Purchases-like generator and the k-means relabelling."""

import numpy as np
import pytest

from skfedmia.datasets import calibrated_label_taste, make_purchases, relabel_kmeans
from skfedmia.datasets._purchases import CALIBRATIONS, DENSITY_RANGE


@pytest.fixture(scope="module")
def data20():
    return make_purchases(n_samples=3000, n_classes=20, random_state=0)


def test_shapes_dtypes_binary(data20):
    X, y = data20
    assert X.shape == (3000, 600) and y.shape == (3000,)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(X)) == {0.0, 1.0}


@pytest.mark.parametrize(("n_samples", "seed"), [(3000, 0), (800, 1), (1500, 7)])
def test_density_in_documented_range(n_samples, seed):
    X, _ = make_purchases(n_samples=n_samples, n_classes=10, random_state=seed)
    low, high = DENSITY_RANGE
    assert low <= X.mean() <= high
    per_row = X.sum(axis=1)
    assert per_row.min() >= 0 and per_row.max() < 0.5 * X.shape[1]  # sparse rows
    counts = X.sum(axis=0)
    assert counts.max() > 5 * np.median(counts)  # skewed product popularity


def test_all_classes_present_and_uneven(data20):
    _, y = data20
    counts = np.bincount(y)
    assert len(counts) == 20 and counts.min() > 0
    assert counts.max() >= 2 * counts.min()
    assert np.all(np.diff(counts) <= 0)  # class 0 is the largest


def test_exactly_repeatable_and_seed_dependent(data20):
    X, y = data20
    X2, y2 = make_purchases(n_samples=3000, n_classes=20, random_state=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make_purchases(n_samples=3000, n_classes=20, random_state=1)
    assert not np.array_equal(X, X3)
    assert abs(X.mean() - X3.mean()) < 0.01


def test_features_do_not_depend_on_the_number_of_classes(data20):
    X10, y10 = make_purchases(n_samples=3000, n_classes=10, random_state=0)
    assert np.array_equal(X10, data20[0])
    assert np.array_equal(np.unique(y10), np.arange(10))


def test_labels_are_nearest_centroid_clusters(data20):
    # k-means labels: every row is closer to its own class mean than to most other class means
    X, y = data20
    centers = np.stack([X[y == k].mean(axis=0) for k in range(20)])
    dist = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2)
    assert (dist.argmin(axis=1) == y).mean() > 0.9


def test_bunch_and_frame():
    bunch = make_purchases(n_samples=300, n_classes=5, random_state=0, return_X_y=False)
    assert bunch.data.shape == (300, 600) and len(bunch.feature_names) == 600
    assert np.array_equal(bunch.target_names, np.arange(5))
    assert bunch.groups.shape == (300,) and bunch.frame is None
    assert "k-means" in bunch.DESCR and "label taste 0.35" in bunch.DESCR
    framed = make_purchases(
        n_samples=300, n_features=50, n_classes=5, random_state=0, return_X_y=False, as_frame=True
    )
    assert framed.frame.shape == (300, 51)
    X, y = make_purchases(n_samples=300, n_features=50, n_classes=5, random_state=0, as_frame=True)
    assert X.shape == (300, 50) and y.name == "target"
    assert np.array_equal(framed.data.to_numpy(), X.to_numpy())
    assert np.array_equal(framed.frame["target"].to_numpy(), y.to_numpy())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 1}, "n_samples must be an integer >= 2"),
        ({"n_samples": 10, "n_classes": 20}, "n_classes=20 is larger than n_samples=10"),
        ({"n_classes": 1}, "n_classes must be an integer >= 2"),
        ({"density": 1.5}, r"density must be a number in \(0.0, 1.0\)"),
        ({"mixing": -0.1}, "mixing must be"),
        ({"n_features": 2.5}, "n_features must be an integer"),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_purchases(**kwargs)


def test_relabel_kmeans_reproducible_and_canonical():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 1, (30, 3)), rng.normal(10, 1, (60, 3)), rng.normal(-10, 1, (10, 3))]
    y = relabel_kmeans(X, n_classes=3, normalize=False, random_state=0)
    assert y.dtype == np.int64
    assert np.array_equal(np.bincount(y), [60, 30, 10])  # renumbered by size
    assert (y[30:90] == 0).all() and (y[:30] == 1).all() and (y[90:] == 2).all()
    assert np.array_equal(y, relabel_kmeans(X, 3, normalize=False, random_state=0))
    with pytest.raises(ValueError, match="n_classes=200 is larger than the number of rows"):
        relabel_kmeans(X, 200)
    with pytest.raises(ValueError, match="2-dimensional"):
        relabel_kmeans(X[:, 0], 2)


def test_relabel_kmeans_leaves_no_tiny_classes_on_purchase_rows():
    X, _ = make_purchases(n_samples=10_000, n_classes=10, random_state=0)
    for n_classes in (10, 50, 100):
        counts = np.bincount(relabel_kmeans(X, n_classes, random_state=0), minlength=n_classes)
        # plain k-means left many one-row classes here (the paper's 10,000 rows); cosine
        # k-means keeps every class at a usable size (measured minimum: 21 rows of 100
        # classes) while sizes stay uneven
        assert counts.min() >= 10
        assert counts.max() > 1.2 * counts.min()


PAPER_TEST_ACCURACY = {10: 0.781, 20: 0.726, 50: 0.645, 100: 0.567}


@pytest.mark.slow
@pytest.mark.parametrize(
    "n_classes",
    [
        10,
        20,
        50,
        100,
    ],
)
def test_calibrated_at_the_papers_size(n_classes):
    """The paper's MLP on 10,000 rows reaches Table I's test accuracy within ±0.05."""
    from skfedmia import TorchMLPClassifier

    X, y = make_purchases(n_samples=20_000, n_classes=n_classes, random_state=0)
    model = TorchMLPClassifier(random_state=0).fit(X[:10_000], y[:10_000])
    assert abs(model.score(X[-5000:], y[-5000:]) - PAPER_TEST_ACCURACY[n_classes]) <= 0.05


def test_the_earlier_calibration_stays_available():
    new = make_purchases(n_samples=500, n_classes=5, random_state=0)
    old = make_purchases(n_samples=500, n_classes=5, calibrated_for=5_000, random_state=0)
    explicit = make_purchases(n_samples=500, n_classes=5, random_state=0, **CALIBRATIONS[5_000])
    assert np.array_equal(old[0], explicit[0]) and np.array_equal(old[1], explicit[1])
    assert not np.array_equal(new[0], old[0])
    with pytest.raises(ValueError, match="calibrated_for"):
        make_purchases(n_samples=500, calibrated_for=7_000)


def test_label_taste_changes_the_labels_only():
    """Labelling on the customers' tastes leaves X as it was and moves some labels."""
    X0, y0 = make_purchases(n_samples=1500, n_classes=10, label_taste=0.0, random_state=3)
    X1, y1 = make_purchases(n_samples=1500, n_classes=10, label_taste=0.5, random_state=3)
    assert np.array_equal(X0, X1)
    assert not np.array_equal(y0, y1)
    assert np.array_equal(np.unique(y1), np.arange(10))
    # the default at 10 classes is the calibrated weight, given explicitly it is the same
    default = make_purchases(n_samples=1500, n_classes=10, random_state=3)
    explicit = make_purchases(
        n_samples=1500, n_classes=10, label_taste=calibrated_label_taste(10), random_state=3
    )
    assert np.array_equal(default[1], explicit[1]) and not np.array_equal(default[1], y0)
    # from 20 classes on the labels are those of the observed rows
    assert np.array_equal(
        make_purchases(n_samples=1500, n_classes=20, random_state=3)[1],
        make_purchases(n_samples=1500, n_classes=20, label_taste=0.0, random_state=3)[1],
    )


def test_label_taste_calibration_by_class_count():
    assert calibrated_label_taste(10) == pytest.approx(0.35)
    assert calibrated_label_taste(2) == pytest.approx(0.35)  # constant below 10 classes
    assert calibrated_label_taste(20) == 0.0 and calibrated_label_taste(100) == 0.0
    between = calibrated_label_taste(14)
    assert 0.0 < between < 0.35
    # linear in log(n_classes): half way (in log scale) from 10 to 20 classes, half the value
    assert calibrated_label_taste(14) == pytest.approx(0.35 * np.log(20 / 14) / np.log(2))
    assert calibrated_label_taste(10, calibrated_for=5_000) == 0.0
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        calibrated_label_taste(1)
    with pytest.raises(ValueError, match="calibrated_for must be one of"):
        calibrated_label_taste(10, calibrated_for=7_000)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half", True])
def test_label_taste_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match=r"label_taste must be a number in \[0.0, 1.0\]"):
        make_purchases(n_samples=200, n_classes=5, label_taste=bad)
