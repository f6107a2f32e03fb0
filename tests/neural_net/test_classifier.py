import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skfedmia import TorchMLPClassifier
from skfedmia.neural_net import MLPModule, TensorBatchIterator, TensorDataset


def fast(**kw):
    params = dict(max_epochs=5, lr=0.01, batch_size=64, random_state=0)
    params.update(kw)
    return TorchMLPClassifier(**params)


def test_defaults_are_the_papers_target():
    clf = TorchMLPClassifier()
    assert clf.hidden_layer_sizes == (128,)
    assert clf.activation == "tanh"
    assert clf.lr == 0.001
    assert clf.optimizer is torch.optim.Adam
    assert 0 < clf.dropout < 1
    assert clf.device == "auto"


def test_learns_digits_and_module_shape(digits):
    X, y, Xt, yt = digits
    clf = fast().fit(X, y)
    assert clf.score(Xt, yt) > 0.85
    assert isinstance(clf.module_, MLPModule)
    linears = clf.module_.linear_layers
    assert [lin.out_features for lin in linears] == [128, 10]
    assert isinstance(clf.module_.layers[1], torch.nn.Tanh)
    assert clf.device_.type in ("cpu", "cuda")
    proba = clf.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_attack_architecture_via_params(digits):
    X, y, _, _ = digits
    clf = fast(hidden_layer_sizes=(64,), activation="sigmoid", max_epochs=1).fit(X, y)
    assert isinstance(clf.module_.layers[1], torch.nn.Sigmoid)
    assert clf.module_.linear_layers[0].out_features == 64


def test_module_routing_overrides_top_level(digits):
    X, y, _, _ = digits
    clf = fast(max_epochs=1, module__hidden_layer_sizes=(16, 8), module__activation="relu")
    clf.fit(X, y)
    assert [lin.out_features for lin in clf.module_.linear_layers] == [16, 8, 10]
    assert clf.get_params()["module__hidden_layer_sizes"] == (16, 8)


def test_string_labels_and_float64_int_input(digits):
    X, y, Xt, _ = digits
    labels = np.array([f"digit-{v}" for v in y])
    clf = fast(max_epochs=2).fit((X * 16).astype(np.int64), labels)
    assert set(clf.classes_) == set(labels)
    pred = clf.predict((Xt * 16).astype(np.float64))
    assert pred.dtype.kind == "U" and set(pred) <= set(labels)


def test_random_state_repeats_exactly_and_keeps_global_rng(digits):
    X, y, Xt, _ = digits
    torch.manual_seed(123)
    before = torch.get_rng_state()
    p1 = fast().fit(X, y).predict_proba(Xt)
    assert torch.equal(before, torch.get_rng_state())
    p2 = fast().fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(p1, p2)
    p3 = fast(random_state=1).fit(X, y).predict_proba(Xt)
    assert not np.allclose(p1, p3)


def test_partial_fit_sequence_repeats_and_epochs_kwarg(digits):
    X, y, Xt, _ = digits

    def run():
        clf = fast(max_epochs=1)
        clf.partial_fit(X[:600], y[:600], classes=np.arange(10))
        clf.partial_fit(X[600:], y[600:], epochs=3)
        return clf

    a, b = run(), run()
    assert len(a.history_) == 4
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))


def test_partial_fit_needs_classes_when_first_batch_lacks_some(digits):
    X, y, _, _ = digits
    mask = y < 5
    clf = fast(max_epochs=1).partial_fit(X[mask], y[mask], classes=np.arange(10))
    assert clf.module_.linear_layers[-1].out_features == 10
    clf.partial_fit(X[~mask], y[~mask])
    other = fast(max_epochs=1).partial_fit(X[mask], y[mask])
    with pytest.raises(ValueError, match="not among the classes known"):
        other.partial_fit(X[~mask], y[~mask])


def test_clone_pickle_gridsearch_pipeline(digits):
    X, y, Xt, yt = digits
    clf = fast(max_epochs=2).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(Xt), clf.predict_proba(Xt), atol=1e-6)
    assert restored.device == "auto"
    fresh = clone(clf)
    assert not hasattr(fresh, "module_") or not fresh.initialized_
    assert fresh.get_params()["max_epochs"] == 2
    pipe = make_pipeline(StandardScaler(), fast(max_epochs=2))
    search = GridSearchCV(pipe, {"torchmlpclassifier__hidden_layer_sizes": [(8,), (32,)]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["torchmlpclassifier__hidden_layer_sizes"] in [(8,), (32,)]
    assert search.score(Xt, yt) > 0.7


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), "infinity"),
    ],
)
def test_bad_input_clear_errors(digits, bad, match):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        fast(max_epochs=1).fit(bad(X.astype(np.float64)), y)


def test_one_class_and_wrong_width_errors(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="at least 2 classes"):
        fast(max_epochs=1).fit(X[:10], np.zeros(10))
    clf = fast(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError, match="activation. parameter .* must be a str among"):
        fast(max_epochs=1, activation="swishy").fit(X, y)


def test_tensor_batches_cover_every_row_once():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    ds = TensorDataset(X, np.arange(10))
    torch.manual_seed(0)
    seen = torch.cat([yb for _, yb in TensorBatchIterator(ds, batch_size=3, shuffle=True)])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))
    assert len(TensorBatchIterator(ds, batch_size=3)) == 4
    assert len(TensorBatchIterator(ds, batch_size=3, drop_last=True)) == 3


def _fusable(optimizer):
    try:
        optimizer([torch.nn.Parameter(torch.zeros(2))], lr=0.1, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def test_optimizer_fused_by_default_with_opt_out(digits):
    X, y, _, _ = digits
    if not _fusable(torch.optim.Adam):
        pytest.skip("this torch build has no fused Adam for the CPU")
    fused = fast(max_epochs=2, device="cpu").fit(X, y)
    assert fused.optimizer_.defaults["fused"] is True
    plain = fast(max_epochs=2, device="cpu", optimizer__fused=False).fit(X, y)
    assert not plain.optimizer_.defaults["fused"]
    # the same update: both train to the same model up to float rounding
    np.testing.assert_allclose(fused.predict_proba(X), plain.predict_proba(X), atol=1e-4)
    chosen = fast(max_epochs=1, device="cpu", optimizer__foreach=True).fit(X, y)
    assert chosen.optimizer_.defaults["foreach"] is True
    assert not chosen.optimizer_.defaults["fused"]
    # a learning-rate change after fit reaches the fused optimizer
    fused.set_params(lr=0.5)
    assert fused.optimizer_.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("optimizer", [torch.optim.RMSprop, torch.optim.LBFGS])
def test_optimizers_without_fused_kernel_train(digits, optimizer):
    X, y, _, _ = digits
    clf = fast(max_epochs=2, device="cpu", optimizer=optimizer).fit(X, y)
    assert isinstance(clf.optimizer_, optimizer)
    assert clf.predict_proba(X[:3]).shape == (3, 10)


def test_callbacks_and_history_see_every_batch(digits):
    from skorch.callbacks import Callback, GradientNormClipping

    X, y, _, _ = digits

    class Counter(Callback):
        def initialize(self):
            self.calls = {"begin": 0, "end": 0, "grad": 0}
            return self

        def on_batch_begin(self, net, batch=None, training=None, **kwargs):
            self.calls["begin"] += 1

        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            assert "loss" in kwargs and "y_pred" in kwargs
            self.calls["end"] += 1

        def on_grad_computed(self, net, named_parameters, batch=None, **kwargs):
            assert all(p.grad is not None for _, p in named_parameters)
            self.calls["grad"] += 1

    clf = fast(max_epochs=3, batch_size=100, callbacks=[("count", Counter())]).fit(X, y)
    n_batches = -(-len(X) // 100)
    counter = dict(clf.callbacks_)["count"]
    assert counter.calls == {k: 3 * n_batches for k in ("begin", "end", "grad")}
    assert clf.history[-1, "train_batch_count"] == n_batches
    assert clf.history[-1, "batches", -1, "train_batch_size"] == len(X) - 100 * (n_batches - 1)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    # gradient clipping listens to on_grad_computed and changes the training
    clipped = fast(max_epochs=3, callbacks=[GradientNormClipping(1e-3)]).fit(X, y)
    plain = fast(max_epochs=3).fit(X, y)
    assert not np.allclose(clipped.predict_proba(X), plain.predict_proba(X))


class _InterruptAt(Callback):
    """A skorch callback that raises KeyboardInterrupt at the end of a given epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_propagates_by_default(digits):
    X, y, _, _ = digits
    clf = fast(max_epochs=50, callbacks=[("stop", _InterruptAt(2))])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    # the same for partial_fit on a fitted model
    clf = fast(max_epochs=1).fit(X, y)
    clf.set_params(callbacks=[("stop", _InterruptAt(3))]).initialize_callbacks()
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y, epochs=10)


def test_ctrl_c_stops_early_when_asked(digits):
    X, y, _, _ = digits
    clf = fast(max_epochs=50, callbacks=[("stop", _InterruptAt(2))], on_interrupt="stop")
    clf.fit(X, y)
    assert len(clf.history_) == 2


def test_sigint_from_a_timer_ends_fit_with_keyboard_interrupt(tmp_path):
    """A real SIGINT (as from Ctrl-C) during fit ends the process with KeyboardInterrupt."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "fit_forever.py"
    script.write_text(
        "import sys\n"
        "import numpy as np\n"
        "from skorch.callbacks import Callback\n"
        "from skfedmia import TorchMLPClassifier\n"
        "class Ready(Callback):\n"
        "    def on_epoch_end(self, net, **kw):\n"
        "        if len(net.history) == 1:\n"
        "            print('training', flush=True)\n"
        "X = np.random.RandomState(0).normal(size=(200, 5)).astype('float32')\n"
        "y = (X[:, 0] > 0).astype(int)\n"
        "clf = TorchMLPClassifier(max_epochs=10**6, callbacks=[Ready()], random_state=0)\n"
        "clf.fit(X, y)\n"
        "print('finished', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "training"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "finished" not in out
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_epochs": -1}, "max_epochs"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (-3,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": 128}, "hidden_layer_sizes"),
        ({"dropout": 1.0}, "dropout"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"device": "banana"}, "device"),
        ({"on_interrupt": "ignore"}, "on_interrupt"),
    ],
)
def test_bad_parameters_are_named_before_training(digits, params, match):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        fast(**params).fit(X, y)
