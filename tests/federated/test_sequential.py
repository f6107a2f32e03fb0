import pickle

import numpy as np
import pytest
from imblearn.over_sampling import RandomOverSampler
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skfedmia import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    SnapshotRecorder,
    TorchMLPClassifier,
)
from skfedmia.federated import NodeCallback, split_nodes


def sgd():
    return SGDClassifier(loss="log_loss", random_state=0)


def torch_mlp(**kw):
    return TorchMLPClassifier(max_epochs=1, lr=0.01, batch_size=64, **kw)


class Recorder(NodeCallback):
    def __init__(self):
        pass

    def on_fit_begin(self, federation, X, y):
        self.calls = []
        self.begun = len(X)

    def on_node_end(self, federation, *, step, cycle, node, position, model, X, y, indices):
        self.calls.append(
            dict(
                step=step,
                cycle=cycle,
                node=node,
                position=position,
                proba=model.predict_proba(X),
                snapshot=model.snapshot(),
                X=X,
                y=y,
                indices=indices,
            )
        )

    def on_fit_end(self, federation):
        self.ended = True


def test_random_split_sizes_and_disjointness():
    parts = split_nodes(np.zeros(10_000), 3, random_state=0)
    assert sorted(len(p) for p in parts) == [3333, 3333, 3334]
    allrows = np.concatenate(parts)
    assert len(np.unique(allrows)) == 10_000
    parts15 = split_nodes(np.zeros(10_000), 15, random_state=0)
    assert {len(p) for p in parts15} <= {666, 667}


def test_stratified_and_dirichlet_splits():
    y = np.repeat(np.arange(4), [100, 60, 30, 10])
    strat = split_nodes(y, 5, partition="stratified", random_state=0)
    for p in strat:
        assert len(p) == 40
        np.testing.assert_allclose(np.bincount(y[p], minlength=4), [20, 12, 6, 2], atol=1)
    skewed = split_nodes(y, 5, partition="dirichlet", dirichlet_alpha=0.2, random_state=1)
    flat = split_nodes(y, 5, partition="dirichlet", dirichlet_alpha=1000.0, random_state=1)
    assert len(np.unique(np.concatenate(skewed))) == len(y)

    def spread(parts):  # mean over nodes of the largest class share
        return np.mean([np.bincount(y[p], minlength=4).max() / len(p) for p in parts])

    assert spread(skewed) > spread(flat) + 0.2


def test_every_node_trains_in_fixed_order_each_cycle(digits):
    X, y, _, _ = digits
    rec = Recorder()
    fed = SequentialFederatedClassifier(
        sgd(), n_nodes=4, n_cycles=3, callbacks=[rec], random_state=0
    ).fit(X, y)
    assert [c["node"] for c in rec.calls] == [0, 1, 2, 3] * 3
    assert [c["cycle"] for c in rec.calls] == [0] * 4 + [1] * 4 + [2] * 4
    assert [c["step"] for c in rec.calls] == list(range(12))
    assert rec.begun == len(X) and rec.ended
    for c in rec.calls:
        np.testing.assert_array_equal(c["indices"], fed.node_indices_[c["node"]])
        np.testing.assert_array_equal(c["X"], X[c["indices"]])
        np.testing.assert_array_equal(c["y"], y[c["indices"]])
    assert [h["label"] for h in fed.history_][:5] == ["C1N1", "C1N2", "C1N3", "C1N4", "C2N1"]


def test_hooks_receive_the_model_as_it_leaves_each_node(digits):
    X, y, Xt, _ = digits
    rec = Recorder()
    snaps = SnapshotRecorder()
    fed = SequentialFederatedClassifier(
        torch_mlp(random_state=0), n_nodes=3, n_cycles=2, callbacks=[rec, snaps], random_state=0
    ).fit(X, y)
    assert len(rec.calls) == len(snaps.snapshots_) == 6
    # the last snapshot is the final model; earlier ones differ from it
    np.testing.assert_allclose(
        snaps.snapshots_[-1]["model"].predict_proba(Xt), fed.predict_proba(Xt), atol=1e-6
    )
    assert not np.allclose(snaps.snapshots_[0]["model"].predict_proba(Xt), fed.predict_proba(Xt))
    # the live view seen at step 2 equals the snapshot kept at step 2
    np.testing.assert_allclose(
        rec.calls[2]["proba"], snaps.get(0, 2).predict_proba(rec.calls[2]["X"]), atol=1e-6
    )
    chosen = SnapshotRecorder(steps=[(1, 0)])
    SequentialFederatedClassifier(
        torch_mlp(random_state=0), n_nodes=3, n_cycles=2, callbacks=[chosen], random_state=0
    ).fit(X, y)
    assert [(s["cycle"], s["node"]) for s in chosen.snapshots_] == [(1, 0)]
    np.testing.assert_allclose(
        chosen.snapshots_[0]["model"].predict_proba(Xt),
        snaps.get(1, 0).predict_proba(Xt),
        atol=1e-6,
    )


def test_random_order_differs_across_cycles_and_repeats(digits):
    X, y, _, _ = digits

    def orders(seed):
        fed = SequentialFederatedClassifier(
            sgd(), n_nodes=5, n_cycles=6, node_order="random", random_state=seed
        )
        return fed.fit(X, y).node_orders_

    a, b, c = orders(0), orders(0), orders(1)
    np.testing.assert_array_equal(a, b)
    assert len({tuple(row) for row in a}) > 1
    assert not np.array_equal(a, c)
    for row in a:
        assert sorted(row) == list(range(5))
    fixed = SequentialFederatedClassifier(sgd(), n_nodes=5, n_cycles=3, random_state=0)
    assert (fixed.fit(X, y).node_orders_ == np.arange(5)).all()


def test_classes_missing_at_a_node(digits):
    X, y, Xt, yt = digits
    nodes = np.where(y < 5, "hospital-a", "hospital-b")
    fed = SequentialFederatedClassifier(torch_mlp(random_state=0), n_cycles=3, random_state=0).fit(
        X, y, nodes=nodes
    )
    np.testing.assert_array_equal(fed.classes_, np.arange(10))
    assert list(fed.nodes_) == ["hospital-a", "hospital-b"]
    assert fed.predict_proba(Xt).shape == (len(Xt), 10)
    assert set(y[fed.node_indices_[0]]) == {0, 1, 2, 3, 4}
    # the last node saw only 5..9, so the model forgets part of 0..4 (catastrophic
    # forgetting in sequential learning): above chance (0.1), best on the last node's classes
    assert fed.score(Xt, yt) > 0.3
    late = yt >= 5
    assert fed.score(Xt[late], yt[late]) > fed.score(Xt[~late], yt[~late])


@pytest.mark.parametrize(
    "estimator",
    [
        sgd(),
        torch_mlp(random_state=0),
        MLPClassifier((32,), learning_rate_init=0.01, random_state=0),
    ],
)
def test_federation_beats_chance_clearly_on_digits(digits, estimator):
    X, y, Xt, yt = digits
    fed = SequentialFederatedClassifier(
        estimator, n_nodes=3, n_cycles=3, local_epochs=3, random_state=0
    ).fit(X, y)
    assert fed.score(Xt, yt) > 0.75  # chance is 0.1


def test_location_federation_beats_chance(location_path):
    from skfedmia.datasets import load_location

    X, y = load_location(path=location_path, return_X_y=True)
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(y))
    train, test = idx[:3000], idx[3000:4000]
    fed = SequentialFederatedClassifier(
        TorchMLPClassifier(max_epochs=1, random_state=0),
        n_nodes=3,
        n_cycles=3,
        local_epochs=5,
        random_state=0,
    )
    fed.fit(X[train], y[train])
    majority = np.bincount(y[test]).max() / len(test)
    assert fed.score(X[test], y[test]) > max(0.4, 3 * majority)


def test_exact_repeatability(digits):
    X, y, Xt, _ = digits

    def run(seed):
        return (
            SequentialFederatedClassifier(
                torch_mlp(),
                n_nodes=3,
                n_cycles=2,
                node_order="random",
                input_noise=0.05,
                optimizer_state="local",
                random_state=seed,
            )
            .fit(X, y)
            .predict_proba(Xt)
        )

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.allclose(run(0), run(1))


def test_optimizer_state_options_change_training(digits):
    X, y, Xt, _ = digits
    probas = {
        mode: SequentialFederatedClassifier(
            torch_mlp(), n_nodes=3, n_cycles=2, optimizer_state=mode, random_state=0
        )
        .fit(X, y)
        .predict_proba(Xt)
        for mode in ("reset", "local", "travel")
    }
    assert not np.allclose(probas["reset"], probas["travel"])
    assert not np.allclose(probas["local"], probas["travel"])


def test_input_noise_and_update_defense_change_the_model(digits):
    X, y, Xt, _ = digits

    class HalfStep:  # a minimal defense: shrink every update by half
        def apply(self, update, random_state=None):
            return update * 0.5

    base = SequentialFederatedClassifier(torch_mlp(), n_nodes=3, n_cycles=1, random_state=0)
    p0 = base.fit(X, y).predict_proba(Xt)
    p_noise = clone(base).set_params(input_noise=0.3).fit(X, y).predict_proba(Xt)
    snaps = SnapshotRecorder()
    fed = clone(base).set_params(update_defense=HalfStep(), callbacks=[snaps]).fit(X, y)
    assert not np.allclose(p0, p_noise)
    assert not np.allclose(p0, fed.predict_proba(Xt))


def test_update_defense_applies_to_every_step(digits):
    X, y, _, _ = digits
    from skfedmia.federated._adapters import get_flat_params

    class Zero:
        def apply(self, update, random_state=None):
            return update * 0

    fed = SequentialFederatedClassifier(
        torch_mlp(random_state=0), n_nodes=3, n_cycles=2, update_defense=Zero(), random_state=0
    ).fit(X, y)
    init = clone(fed.estimator_)
    init.partial_fit(X[:5], y[:5], classes=np.arange(10), epochs=0)
    np.testing.assert_allclose(get_flat_params(fed.estimator_), get_flat_params(init))


def test_sampler_balances_each_node(digits):
    X, y, _, _ = digits
    keep = (y != 3) | (np.arange(len(y)) % 10 == 0)
    X, y = X[keep], y[keep]
    seen = []

    class Sizes(NodeCallback):
        def on_node_end(self, federation, **kw):
            seen.append(kw["node"])

    fed = SequentialFederatedClassifier(
        sgd(),
        n_nodes=2,
        n_cycles=1,
        sampler=RandomOverSampler(random_state=0),
        callbacks=[Sizes()],
        random_state=0,
    ).fit(X, y)
    node_data = fed._prepare_node_data(
        X, np.searchsorted(fed.classes_, y), np.random.RandomState(0)
    )
    for _Xk, yk in node_data:
        counts = np.bincount(yk)
        assert counts.min() == counts.max()
    assert seen == [0, 1]


def test_clone_params_pickle_pipeline_gridsearch(digits):
    X, y, Xt, yt = digits
    fed = SequentialFederatedClassifier(torch_mlp(), n_nodes=2, n_cycles=1, random_state=0)
    fed.set_params(estimator__max_epochs=2, local_epochs=1)
    assert fed.get_params()["estimator__max_epochs"] == 2
    assert clone(fed).get_params()["estimator__max_epochs"] == 2
    fed.fit(X, y)
    restored = pickle.loads(pickle.dumps(fed))
    np.testing.assert_allclose(restored.predict_proba(Xt), fed.predict_proba(Xt), atol=1e-6)
    pipe = Pipeline([("scale", StandardScaler()), ("fed", fed)])
    search = GridSearchCV(pipe, {"fed__local_epochs": [1, 2], "fed__n_nodes": [2, 3]}, cv=2)
    search.fit(X, y)
    assert set(search.cv_results_["param_fed__n_nodes"]) == {2, 3}
    assert search.score(Xt, yt) > 0.7
    # nodes given per row travel through Pipeline routing
    nodes = np.arange(len(y)) % 3
    pipe.fit(X, y, fed__nodes=nodes)
    assert pipe.named_steps["fed"].n_nodes_ == 3


def test_bad_input_errors(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="n_nodes=50 exceeds the number of rows"):
        SequentialFederatedClassifier(sgd(), n_nodes=50).fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="nodes must be a 1-D array"):
        SequentialFederatedClassifier(sgd()).fit(X, y, nodes=np.zeros(10))
    bad = X.astype(np.float64).copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SequentialFederatedClassifier(sgd()).fit(bad, y)
    from sklearn.svm import SVC

    with pytest.raises(ValueError, match="'estimator' parameter .* 'partial_fit'"):
        SequentialFederatedClassifier(SVC()).fit(X, y)
    with pytest.raises(ValueError, match="'node_order' parameter"):
        SequentialFederatedClassifier(sgd(), node_order="shuffled").fit(X, y)
    with pytest.raises(ValueError, match=r"left node\(s\) .* without rows"):
        SequentialFederatedClassifier(
            sgd(), n_nodes=40, partition="dirichlet", dirichlet_alpha=0.01, random_state=0
        ).fit(X[:60], y[:60])
    with pytest.raises(ValueError, match="at least 2 classes"):
        SequentialFederatedClassifier(sgd()).fit(X[:30], np.ones(30))
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        SequentialFederatedClassifier(sgd(), n_cycles=1).fit(X, y, validation_data=X)
    with pytest.raises(TypeError, match="callbacks must be NodeCallback"):
        SequentialFederatedClassifier(sgd(), callbacks=[3]).fit(X, y)


def test_validation_history(digits):
    X, y, Xt, yt = digits
    fed = SequentialFederatedClassifier(sgd(), n_nodes=3, n_cycles=2, random_state=0)
    fed.fit(X, y, validation_data=(Xt, yt))
    assert len(fed.history_) == 6
    assert fed.history_[-1]["validation_accuracy"] == pytest.approx(fed.score(Xt, yt))
    assert all(0 <= h["train_accuracy"] <= 1 for h in fed.history_)


def test_federated_averaging(digits):
    X, y, Xt, yt = digits
    fed = FederatedAveragingClassifier(
        torch_mlp(random_state=0), n_nodes=3, n_rounds=3, local_epochs=2, random_state=0
    ).fit(X, y)
    assert fed.score(Xt, yt) > 0.8
    rounds = [h for h in fed.history_ if h["node"] == -1]
    assert len(rounds) == 3 and len(fed.history_) == 12
    again = FederatedAveragingClassifier(
        torch_mlp(random_state=0), n_nodes=3, n_rounds=3, local_epochs=2, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(fed.predict_proba(Xt), again.predict_proba(Xt))
    with pytest.raises(ValueError, match="travel"):
        FederatedAveragingClassifier(sgd(), optimizer_state="travel").fit(X, y)


def test_real_update_defenses_compose_with_the_federation(digits):
    from skfedmia.defenses import ClipNorm, GaussianNoise
    from skfedmia.federated._adapters import get_flat_params

    X, y, Xt, yt = digits
    deltas = []

    class Spy(ClipNorm):
        def apply(self, update, random_state=None):
            out = super().apply(update, random_state=random_state)
            deltas.append(float(np.linalg.norm(np.asarray(out))))
            return out

    SequentialFederatedClassifier(
        torch_mlp(random_state=0),
        n_nodes=3,
        n_cycles=2,
        update_defense=Spy(max_norm=0.5),
        random_state=0,
    ).fit(X, y)
    assert len(deltas) == 6 and max(deltas) <= 0.5 + 1e-5  # every update, first one too
    noisy = SequentialFederatedClassifier(
        torch_mlp(random_state=0),
        n_nodes=3,
        n_cycles=2,
        update_defense=GaussianNoise(sigma=0.5, clip_norm=1.0),
        random_state=0,
    ).fit(X, y)
    again = SequentialFederatedClassifier(
        torch_mlp(random_state=0),
        n_nodes=3,
        n_cycles=2,
        update_defense=GaussianNoise(sigma=0.5, clip_norm=1.0),
        random_state=0,
    ).fit(X, y)
    np.testing.assert_array_equal(
        get_flat_params(noisy.estimator_), get_flat_params(again.estimator_)
    )
    clipped_only = SequentialFederatedClassifier(
        torch_mlp(random_state=0),
        n_nodes=3,
        n_cycles=2,
        update_defense=ClipNorm(max_norm=1.0),
        random_state=0,
    ).fit(X, y)
    gap = get_flat_params(noisy.estimator_) - get_flat_params(clipped_only.estimator_)
    assert float(gap.norm()) > 0.1  # the noise really reached the parameters


def test_snapshots_are_independent_copies(digits):
    from skfedmia.federated import NodeModel

    X, y, Xt, _ = digits
    net = torch_mlp(random_state=0).fit(X, y)
    live = NodeModel(net, classes=np.arange(10))
    snap = live.snapshot()
    before = snap.predict_proba(Xt)
    np.testing.assert_array_equal(before, live.predict_proba(Xt))
    net.partial_fit(X, y, epochs=2)  # the original trains on: the snapshot stays
    np.testing.assert_array_equal(snap.predict_proba(Xt), before)
    after = net.predict_proba(Xt)
    snap.estimator.partial_fit(
        X[:100], y[:100], epochs=3
    )  # the snapshot trains: the original stays
    np.testing.assert_array_equal(net.predict_proba(Xt), after)
    assert not np.allclose(snap.predict_proba(Xt), before)
