"""Mixed-type tables: layout, relaxation, metric, confidence, and the real ANES 1996 table."""

import numpy as np
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from skfedmia.attacks.gradient_leakage import (
    ColumnLayout,
    GradientInversionAttack,
    compute_gradient,
    tabular_scores,
)
from skfedmia.attacks.gradient_leakage._relaxation import Relaxation
from skfedmia.neural_net import MLPModule

LAYOUT = ColumnLayout(6, categorical=[[0, 1, 2], [3, 4]], continuous=[5], bounds=[[-1.0, 2.0]])


def test_relaxation_keeps_groups_on_the_simplex_and_values_in_range():
    relax = Relaxation("mixed", 6, "cpu", layout=LAYOUT)
    Z = 5 * torch.randn(3, 4, 6, dtype=torch.float64)
    X = relax.transform(Z)
    for g in LAYOUT.categorical:
        np.testing.assert_allclose(X[..., g].sum(-1).numpy(), 1.0)
        assert (X[..., g] >= 0).all()
    assert ((X[..., 5] >= -1) & (X[..., 5] <= 2)).all()
    snapped = relax.finalize(X.numpy())
    for g in LAYOUT.categorical:
        block = snapped[..., g]
        assert set(np.unique(block)) <= {0.0, 1.0}
        np.testing.assert_array_equal(block.sum(-1), 1.0)
        # the category kept is the relaxed group's largest entry
        np.testing.assert_array_equal(block.argmax(-1), X[..., g].numpy().argmax(-1))
    # the latent of a valid record maps back onto it
    back = relax.finalize(relax.transform(relax.to_latent(snapped)).numpy())
    np.testing.assert_allclose(back, snapped, atol=1e-3)


def test_tabular_scores_on_hand_made_records():
    X_true = np.array([[1, 0, 0, 1, 0, 0.0], [0, 0, 1, 0, 1, 1.0]])
    ref = np.array([[1, 0, 0, 1, 0, 0.0], [0, 1, 0, 0, 1, 1.0], [0, 0, 1, 0, 1, 2.0]])
    # order does not matter: records are matched first
    s = tabular_scores(X_true[::-1], X_true, LAYOUT, X_reference=ref)
    assert s["accuracy"] == 1.0 and s["exact_row_rate"] == 1.0
    # one categorical wrong in record 0; record 1's continuous value off by 0.1 std (right)
    # and then by 1 std (wrong); std of the reference column is sqrt(2/3)
    sd = np.sqrt(2 / 3)
    X_rec = X_true.copy()
    X_rec[0, :3] = [0, 1, 0]
    X_rec[1, 5] += 0.1 * sd
    s = tabular_scores(X_rec, X_true, LAYOUT, X_reference=ref)
    assert s["accuracy"] == pytest.approx(5 / 6)
    assert s["categorical_accuracy"] == pytest.approx(3 / 4)
    assert s["continuous_accuracy"] == 1.0 and s["exact_row_rate"] == 0.5
    X_rec[1, 5] += 0.9 * sd
    s = tabular_scores(X_rec, X_true, LAYOUT, X_reference=ref)
    assert s["continuous_accuracy"] == 0.5 and s["accuracy"] == pytest.approx(4 / 6)
    # baselines: most frequent category + median, and random reference rows
    assert s["mode_accuracy"] == pytest.approx(3 / 6)
    assert 0 <= s["random_accuracy"] <= 1
    # confidence that puts the two wrong features last ranks perfectly
    conf = np.ones((2, 3))
    conf[0, 0] = conf[1, 2] = 0.1
    s = tabular_scores(X_rec, X_true, LAYOUT, X_reference=ref, confidence=conf)
    assert s["confidence_auc"] == 1.0
    with pytest.raises(ValueError, match="confidence"):
        tabular_scores(X_rec, X_true, LAYOUT, confidence=np.ones((2, 2)))


def test_layout_from_encoders():
    X = np.array([["a", 1.0, "x"], ["b", 3.0, "y"], ["c", 2.0, "x"]], dtype=object)
    ct = ColumnTransformer(
        [
            ("cat", OneHotEncoder(sparse_output=False), [0, 2]),
            ("num", make_pipeline(SimpleImputer(), MinMaxScaler()), [1]),
        ]
    ).fit(X)
    layout = ColumnLayout.from_encoder(ct, n_features=ct.transform(X).shape[1])
    assert layout.categorical == [[0, 1, 2], [3, 4]] and layout.continuous == [5]
    ohe = OneHotEncoder().fit(X[:, [0]])
    assert ColumnLayout.from_encoder(ohe).categorical == [[0, 1, 2]]
    with pytest.raises(ValueError, match="drop"):
        ColumnLayout.from_encoder(OneHotEncoder(drop="first").fit(X[:, [0]]))
    with pytest.raises(TypeError, match="encoder"):
        ColumnLayout.from_encoder(MinMaxScaler())
    with pytest.raises(ValueError, match="n_features"):
        ColumnLayout.from_encoder(ct, n_features=4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(categorical=[[0, 1]], continuous=[2]), ValueError, "neither"),
        (dict(categorical=[[0, 1, 2]], continuous=[2, 3]), ValueError, "more than once"),
        (dict(categorical=[[0]], continuous=[1, 2, 3]), ValueError, "at least 2"),
        (dict(categorical=[[0, 9]], continuous=[1, 2, 3]), ValueError, "outside"),
        (dict(categorical="01", continuous=[2, 3]), TypeError, "categorical"),
        (dict(categorical=[[0, 1]], continuous=[2, 3], bounds=[[0, 1]]), ValueError, "bounds"),
    ],
)
def test_bad_layouts(kwargs, error, match):
    with pytest.raises(error, match=match):
        ColumnLayout(4, **kwargs)


def test_clear_errors_for_a_layout_that_does_not_match_X():
    layout = ColumnLayout(4, categorical=[[0, 1, 2]], continuous=[3])
    gia = GradientInversionAttack(layout=layout)
    with pytest.raises(ValueError, match="columns but the layout declares 4"):
        gia.fit(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"not one-hot in categorical group 0 \(columns"):
        gia.fit(np.array([[1, 1, 0, 0.5], [1, 0, 0, 0.2]]))
    with pytest.raises(ValueError, match="bounds"):
        ColumnLayout(4, [[0, 1, 2]], [3], bounds=[[0, 1]]).check(np.array([[1, 0, 0, 3.0]]))
    with pytest.raises(ValueError, match="prior"):
        GradientInversionAttack(layout=layout, prior="bernoulli").fit(np.eye(4))
    with pytest.raises(ValueError, match="layout"):
        GradientInversionAttack(prior="mixed").fit(np.eye(4))
    with pytest.raises(ValueError, match="layout"):
        GradientInversionAttack(layout="cat").fit(np.eye(4))
    model = MLPModule(n_features=5, n_classes=2, hidden_layer_sizes=(4,))
    g = compute_gradient(model, np.zeros((1, 5)), [0])
    with pytest.raises(ValueError, match="layout declares 4 columns"):
        gia.reconstruct(model, g, batch_size=1)
    model = MLPModule(n_features=4, n_classes=2, hidden_layer_sizes=(4,))
    g = compute_gradient(model, np.array([[1.0, 0, 0, 0.3], [0, 1, 0, 0.1]]), [0, 1])
    with pytest.raises(ValueError, match="bounds"):
        gia.reconstruct(model, g, batch_size=2)


def test_mixed_attack_on_the_real_election_table():
    pytest.importorskip("statsmodels")
    from skfedmia.attacks.gradient_leakage._tabular_data import load_anes96_encoded

    X, y, layout, _ = load_anes96_encoded()
    order = np.random.RandomState(0).permutation(len(X))
    X, y = X[order], y[order]
    torch.manual_seed(0)
    model = MLPModule(X.shape[1], 2, hidden_layer_sizes=(32,))
    gia = GradientInversionAttack(
        layout=layout, n_restarts=4, max_iter=150, refine_iter=50, random_state=0
    ).fit(X[:800])
    aucs = []
    for start in (800, 808):
        Xb, yb = X[start : start + 8], y[start : start + 8]
        res = gia.reconstruct(model, compute_gradient(model, Xb, yb), batch_size=8)
        for g in layout.categorical:
            np.testing.assert_array_equal(res.X_[:, g].sum(1), 1.0)
        s = gia.report(res, Xb, yb)
        assert s["accuracy"] > s["random_accuracy"] + 0.1
        aucs.append(s.get("confidence_auc", np.nan))
    # right features are more confident than wrong ones (where there are wrong ones)
    assert np.nanmean(aucs) > 0.5


def test_attack_with_layout_clones_and_pickles():
    import pickle

    from sklearn.base import clone

    gia = GradientInversionAttack(layout=LAYOUT, random_state=0)
    assert clone(gia).get_params()["layout"] is not None
    X = np.array([[1, 0, 0, 1, 0, 0.5], [0, 1, 0, 0, 1, 1.5]])
    fitted = pickle.loads(pickle.dumps(gia.fit(X)))
    assert fitted.layout_.categorical == LAYOUT.categorical
    assert fitted._resolved_prior() == "mixed"
