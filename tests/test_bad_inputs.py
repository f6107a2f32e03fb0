"""A table of bad inputs over the public API: each gets a clear error that names the problem.

One row per case: an id, a call, the exception type expected, and words the message must
contain. No row may end in a ``KeyError``, an ``AttributeError`` or a torch ``RuntimeError``
from deep inside: what the user passed is named at the public entry.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, SGDClassifier

from skfedmia import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    SnapshotRecorder,
    TorchMLPClassifier,
    attack_report,
    tpr_at_fpr,
)
from skfedmia import defenses as D
from skfedmia.datasets import (
    attack_split,
    calibrated_label_taste,
    clear_data_home,
    load_location,
    load_purchases,
    load_texas,
    make_purchases,
    relabel_kmeans,
)
from skfedmia.federated import NodeModel
from skfedmia.neural_net import MLPModule, TensorBatchIterator, TensorDataset
from skfedmia.utils import check_params, resolve_device

RNG = np.random.RandomState(0)
X = RNG.normal(size=(60, 5)).astype(np.float32)
Y = np.arange(60) % 3
X_NAN = X.copy()
X_NAN[3, 2] = np.nan


def _mlp(**kw):
    params = dict(max_epochs=1, random_state=0)
    params.update(kw)
    return TorchMLPClassifier(**params)


def _seq(**kw):
    params = dict(estimator=SGDClassifier(loss="log_loss", random_state=0), random_state=0)
    params.update(kw)
    return SequentialFederatedClassifier(**params)


def _avg(**kw):
    params = dict(estimator=SGDClassifier(loss="log_loss", random_state=0), random_state=0)
    params.update(kw)
    return FederatedAveragingClassifier(**params)


def _fitted_recorder():
    recorder = SnapshotRecorder(steps=[(0, 0)])
    _seq(n_nodes=2, n_cycles=1, callbacks=[recorder]).fit(X, Y)
    return recorder


def _refused_clear(tmp):
    # a folder without the marker file: refused, nothing deleted
    folder = os.path.join(tmp, "mine")
    os.makedirs(folder, exist_ok=True)
    return lambda: clear_data_home(folder)


TMP = os.path.join(os.path.dirname(__file__), "_bad_inputs_tmp_never_created")

# (id, call, exception, words in the message)
ROWS = [
    # ----------------------------------------------------------------- neural_net
    ("mlp max_epochs -1", lambda: _mlp(max_epochs=-1).fit(X, Y), ValueError, "max_epochs"),
    ("mlp max_epochs 0", lambda: _mlp(max_epochs=0).fit(X, Y), ValueError, "max_epochs"),
    ("mlp max_epochs float", lambda: _mlp(max_epochs=2.5).fit(X, Y), ValueError, "max_epochs"),
    ("mlp batch_size 0", lambda: _mlp(batch_size=0).fit(X, Y), ValueError, "batch_size"),
    ("mlp batch_size -5", lambda: _mlp(batch_size=-5).fit(X, Y), ValueError, "batch_size"),
    ("mlp hidden (0,)", lambda: _mlp(hidden_layer_sizes=(0,)).fit(X, Y), ValueError, "hidden"),
    ("mlp hidden (-4,)", lambda: _mlp(hidden_layer_sizes=(-4,)).fit(X, Y), ValueError, "hidden"),
    ("mlp hidden int", lambda: _mlp(hidden_layer_sizes=64).fit(X, Y), ValueError, "hidden"),
    ("mlp hidden str", lambda: _mlp(hidden_layer_sizes=("a",)).fit(X, Y), ValueError, "hidden"),
    ("mlp activation", lambda: _mlp(activation="swish").fit(X, Y), ValueError, "activation"),
    ("mlp dropout 1", lambda: _mlp(dropout=1.0).fit(X, Y), ValueError, "dropout"),
    ("mlp dropout -0.1", lambda: _mlp(dropout=-0.1).fit(X, Y), ValueError, "dropout"),
    ("mlp lr 0", lambda: _mlp(lr=0).fit(X, Y), ValueError, "'lr'"),
    ("mlp lr inf", lambda: _mlp(lr=float("inf")).fit(X, Y), ValueError, "'lr'"),
    ("mlp lr str", lambda: _mlp(lr="fast").fit(X, Y), ValueError, "'lr'"),
    ("mlp device banana", lambda: _mlp(device="banana").fit(X, Y), ValueError, "device"),
    (
        "mlp device cuda without cuda",
        lambda: _mlp(device="cuda:7").fit(X, Y),
        ValueError,
        "cuda",
    ),
    ("mlp on_interrupt", lambda: _mlp(on_interrupt="ignore").fit(X, Y), ValueError, "interrupt"),
    ("mlp random_state str", lambda: _mlp(random_state="x").fit(X, Y), ValueError, "random_state"),
    ("mlp NaN in X", lambda: _mlp().fit(X_NAN, Y), ValueError, "NaN"),
    ("mlp one class", lambda: _mlp().fit(X, np.zeros(60)), ValueError, "2 classes"),
    ("mlp X/y lengths", lambda: _mlp().fit(X, Y[:-1]), ValueError, "inconsistent"),
    ("mlp 1-D X", lambda: _mlp().fit(X[:, 0], Y), ValueError, "2D array"),
    ("mlp continuous y", lambda: _mlp().fit(X, X[:, 0]), ValueError, "Unknown label type"),
    ("mlp predict unfitted", lambda: _mlp().predict(X), NotFittedError, "not fitted"),
    (
        "mlp predict wrong width",
        lambda: _mlp().fit(X, Y).predict(X[:, :3]),
        ValueError,
        "features",
    ),
    (
        "mlp partial_fit unseen class",
        lambda: _mlp().partial_fit(X, Y, classes=[0, 1, 2]).partial_fit(X, Y + 5),
        ValueError,
        "not among the classes",
    ),
    (
        "module hidden (-1,)",
        lambda: MLPModule(5, 2, hidden_layer_sizes=(-1,)),
        ValueError,
        "hidden",
    ),
    ("module n_features 0", lambda: MLPModule(0, 2), ValueError, "n_features"),
    ("module activation", lambda: MLPModule(5, 2, activation="x"), ValueError, "activation"),
    ("module dropout 2", lambda: MLPModule(5, 2, dropout=2.0), ValueError, "dropout"),
    ("tensor dataset lengths", lambda: TensorDataset(X, Y[:5]), ValueError, "rows"),
    ("tensor dataset device", lambda: TensorDataset(X, Y, device="gpu9"), ValueError, "device"),
    (
        "batch iterator batch 0",
        lambda: TensorBatchIterator(TensorDataset(X, Y), batch_size=0),
        ValueError,
        "batch_size",
    ),
    (
        "batch iterator dataset",
        lambda: TensorBatchIterator((X, Y)),
        ValueError,
        "dataset",
    ),
    # ------------------------------------------------------------------ federated
    ("seq n_nodes 0", lambda: _seq(n_nodes=0).fit(X, Y), ValueError, "n_nodes"),
    ("seq n_cycles 0", lambda: _seq(n_cycles=0).fit(X, Y), ValueError, "n_cycles"),
    ("seq local_epochs -1", lambda: _seq(local_epochs=-1).fit(X, Y), ValueError, "local_epochs"),
    ("seq node_order", lambda: _seq(node_order="shuffled").fit(X, Y), ValueError, "node_order"),
    ("seq partition", lambda: _seq(partition="iid").fit(X, Y), ValueError, "partition"),
    ("seq dirichlet 0", lambda: _seq(dirichlet_alpha=0).fit(X, Y), ValueError, "dirichlet_alpha"),
    (
        "seq optimizer_state",
        lambda: _seq(optimizer_state="keep").fit(X, Y),
        ValueError,
        "optimizer_state",
    ),
    ("seq input_noise -1", lambda: _seq(input_noise=-1.0).fit(X, Y), ValueError, "input_noise"),
    (
        "seq estimator no partial_fit",
        lambda: _seq(estimator=LogisticRegression()).fit(X, Y),
        ValueError,
        "estimator",
    ),
    ("seq sampler", lambda: _seq(sampler="smote").fit(X, Y), ValueError, "sampler"),
    (
        "seq update_defense",
        lambda: _seq(update_defense="dp").fit(X, Y),
        ValueError,
        "update_defense",
    ),
    ("seq callbacks item", lambda: _seq(callbacks=[42]).fit(X, Y), TypeError, "callbacks"),
    ("seq callbacks str", lambda: _seq(callbacks="recorder").fit(X, Y), ValueError, "callbacks"),
    ("seq nodes length", lambda: _seq().fit(X, Y, nodes=np.zeros(5)), ValueError, "nodes"),
    (
        "seq validation_data",
        lambda: _seq().fit(X, Y, validation_data=X),
        ValueError,
        "validation_data",
    ),
    (
        "seq validation labels",
        lambda: _seq().fit(X, Y, validation_data=(X, Y + 7)),
        ValueError,
        "labels not seen",
    ),
    ("seq NaN in X", lambda: _seq().fit(X_NAN, Y), ValueError, "NaN"),
    ("seq one class", lambda: _seq().fit(X, np.ones(60)), ValueError, "2 classes"),
    ("seq predict unfitted", lambda: _seq().predict(X), NotFittedError, "not fitted"),
    ("seq node_model unfitted", lambda: _seq().node_model(), NotFittedError, "not fitted"),
    ("avg n_rounds 0", lambda: _avg(n_rounds=0).fit(X, Y), ValueError, "n_rounds"),
    ("avg travel", lambda: _avg(optimizer_state="travel").fit(X, Y), ValueError, "travel"),
    ("avg n_nodes str", lambda: _avg(n_nodes="3").fit(X, Y), ValueError, "n_nodes"),
    (
        "recorder steps str",
        lambda: _seq(callbacks=[SnapshotRecorder(steps="last")]).fit(X, Y),
        ValueError,
        "steps",
    ),
    (
        "recorder steps items",
        lambda: _seq(callbacks=[SnapshotRecorder(steps=[1, 2])]).fit(X, Y),
        ValueError,
        "(cycle, node) pairs",
    ),
    (
        "recorder get before fit",
        lambda: SnapshotRecorder().get(0, 0),
        NotFittedError,
        "recorded nothing",
    ),
    (
        "recorder get unrecorded",
        lambda: _fitted_recorder().get(cycle=3, node=1),
        ValueError,
        "No snapshot was kept",
    ),
    (
        "node model labels",
        lambda: NodeModel(LogisticRegression(), classes=[0, 1]).fit(X, Y + 9),
        ValueError,
        "outside",
    ),
    # ------------------------------------------------------------------ defenses
    ("clip max_norm 0", lambda: D.ClipNorm(0).apply(np.ones(3)), ValueError, "max_norm"),
    ("clip max_norm str", lambda: D.ClipNorm("1").apply(np.ones(3)), ValueError, "max_norm"),
    ("gauss sigma -1", lambda: D.GaussianNoise(-1).apply(np.ones(3)), ValueError, "sigma"),
    (
        "gauss sigma nan",
        lambda: D.GaussianNoise(float("nan")).apply(np.ones(3)),
        ValueError,
        "sigma",
    ),
    (
        "gauss clip 0",
        lambda: D.GaussianNoise(0.1, clip_norm=0).apply(np.ones(3)),
        ValueError,
        "clip_norm",
    ),
    ("gauss epsilon unclipped", lambda: D.GaussianNoise(0.1).epsilon(), ValueError, "clip_norm"),
    ("laplace scale -1", lambda: D.LaplaceNoise(-1).apply(np.ones(3)), ValueError, "scale"),
    (
        "topk fraction 1",
        lambda: D.TopKSparsification(1.0).apply(np.ones(3)),
        ValueError,
        "fraction",
    ),
    (
        "random pruning -0.5",
        lambda: D.RandomPruning(-0.5).apply(np.ones(3)),
        ValueError,
        "fraction",
    ),
    ("compose not list", lambda: D.Compose(D.ClipNorm()).apply(np.ones(3)), ValueError, "defenses"),
    (
        "compose item",
        lambda: D.Compose([D.ClipNorm(), "noise"]).apply(np.ones(3)),
        ValueError,
        "defenses[1]",
    ),
    ("apply 2-D update", lambda: D.ClipNorm().apply(np.ones((2, 2))), ValueError, "1-D"),
    ("apply text update", lambda: D.ClipNorm().apply(np.array(["a"])), ValueError, "numeric"),
    ("apply inf update", lambda: D.ClipNorm().apply(np.array([np.inf])), ValueError, "infinite"),
    (
        "dpsgd noise -1",
        lambda: D.DPSGD(noise_multiplier=-1).epsilon(10),
        ValueError,
        "noise_multiplier",
    ),
    ("dpsgd clip 0", lambda: D.DPSGD(max_grad_norm=0).epsilon(10), ValueError, "max_grad_norm"),
    ("dpsgd delta 1", lambda: D.DPSGD(delta=1.0).epsilon(10), ValueError, "delta"),
    ("dpsgd accountant", lambda: D.DPSGD(accountant="gdp").epsilon(10), ValueError, "accountant"),
    ("dpsgd model", lambda: D.DPSGD().per_example_gradients("net", X, Y), ValueError, "model"),
    ("epsilon sample_rate 0", lambda: D.compute_epsilon(1.0, 0.0, 10), ValueError, "sample_rate"),
    ("epsilon n_steps -1", lambda: D.compute_epsilon(1.0, 0.1, -1), ValueError, "n_steps"),
    (
        "epsilon accountant",
        lambda: D.compute_epsilon(1.0, 0.1, 10, accountant="x"),
        ValueError,
        "accountant",
    ),
    # ------------------------------------------------------------------ datasets
    ("purchases n_classes 1", lambda: load_purchases(1, path="x"), ValueError, "n_classes"),
    (
        "purchases n_samples 0",
        lambda: load_purchases(10, n_samples=0, path="x"),
        ValueError,
        "n_samples",
    ),
    ("location path int", lambda: load_location(path=5), ValueError, "path"),
    (
        "location missing path",
        lambda: load_location(path=os.path.join(TMP, "none.tgz")),
        FileNotFoundError,
        "does not exist",
    ),
    ("texas download str", lambda: load_texas(download="yes"), ValueError, "download"),
    ("location return_X_y", lambda: load_location(return_X_y="no"), ValueError, "return_X_y"),
    (
        "make_purchases n_classes 1",
        lambda: make_purchases(100, n_classes=1),
        ValueError,
        "n_classes",
    ),
    ("make_purchases n_samples -1", lambda: make_purchases(-1), ValueError, "n_samples"),
    (
        "make_purchases label_taste 2",
        lambda: make_purchases(100, n_classes=3, label_taste=2),
        ValueError,
        "label_taste",
    ),
    (
        "label taste calibrated_for",
        lambda: calibrated_label_taste(10, calibrated_for=1),
        ValueError,
        "calibrated_for",
    ),
    ("label taste n_classes str", lambda: calibrated_label_taste("10"), ValueError, "n_classes"),
    ("relabel n_classes 0", lambda: relabel_kmeans(X, 0), ValueError, "n_classes"),
    ("split too large", lambda: attack_split(X, Y, n_target=50, n_test=50), ValueError, "rows"),
    (
        "split missing sizes",
        lambda: attack_split(X, Y, n_target=None, n_test=10),
        ValueError,
        "n_target",
    ),
    (
        "split fraction 1.5",
        lambda: attack_split(X, Y, n_target=1.5, n_test=10),
        ValueError,
        "n_target",
    ),
    ("split lengths", lambda: attack_split(X, Y[:4], n_target=5, n_test=5), ValueError, "rows"),
    ("clear_data_home empty", lambda: clear_data_home(""), ValueError, "empty path"),
    ("clear_data_home cwd", lambda: clear_data_home(os.getcwd()), ValueError, "current directory"),
    (
        "clear_data_home root",
        lambda: clear_data_home(os.path.abspath(os.sep)),
        ValueError,
        "refuses",
    ),
    # ------------------------------------------------------------------ metrics, utils
    ("tpr_at_fpr fpr 2", lambda: tpr_at_fpr([0, 1], [0.1, 0.9], fpr=2.0), ValueError, "fpr"),
    (
        "tpr_at_fpr one class",
        lambda: tpr_at_fpr([1, 1], [0.1, 0.9], fpr=0.01),
        ValueError,
        "member",
    ),
    (
        "attack_report lengths",
        lambda: attack_report([0, 1, 1], [0.2, 0.8]),
        ValueError,
        "same length",
    ),
    (
        "attack_report nan scores",
        lambda: attack_report([0, 1, 1], [0.2, np.nan, 0.8]),
        ValueError,
        "1 of 3 are NaN",
    ),
    ("resolve_device banana", lambda: resolve_device("banana"), ValueError, "device"),
    ("check_params", lambda: check_params(D.ClipNorm(max_norm=-2)), ValueError, "max_norm"),
]


def _rows():
    ids = [row[0] for row in ROWS]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    return [pytest.param(*row[1:], id=row[0]) for row in ROWS]


def test_the_table_is_large():
    assert len(ROWS) + len(CLI_ROWS) + len(MITIGATE_ROWS) >= 100


@pytest.mark.parametrize("call, exception, words", _rows())
def test_bad_input_gets_a_clear_error(call, exception, words):
    with pytest.raises(exception) as info:
        call()
    raw = isinstance(info.value, (KeyError, AttributeError))
    assert not raw or isinstance(info.value, NotFittedError), repr(info.value)
    message = str(info.value)
    assert words.lower() in message.lower(), message


# -------------------------------------------------------------------------------- the CLI
# (arguments after the tiny settings, words the last line of the usage error must contain);
# every case exits with status 2 before any work, and nothing is written
CLI_ROWS = [
    (["--epochs", "-5"], ["--epochs", ">= 1", "-5"]),
    (["--epochs", "two"], ["--epochs", "integer", "'two'"]),
    (["--classes", "1"], ["--classes", ">= 2", "got 1"]),
    (["--nodes", "0"], ["--nodes", ">= 1", "got 0"]),
    (["--nodes", ""], ["--nodes", "nothing"]),
    (["--seeds", "-1"], ["--seeds", "got -1"]),
    (["--cycles", "0"], ["--cycles", ">= 1"]),
    (["--shadow-models", "0"], ["--shadow-models", ">= 1"]),
    (["--centralized-epochs", "0"], ["--centralized-epochs", ">= 1"]),
    (["--n-target", "5"], ["--n-target 5 is too small", "per class"]),
    (["--n-target", "0"], ["--n-target", ">= 1"]),
    (["--n-shadow", "3"], ["--n-shadow 3 is too small"]),
    (["--n-test", "2"], ["--n-test 2 is too small"]),
    (["--device", "banana"], ["--device", "'cpu'", "'banana'"]),
    (["--threads", "0"], ["--threads", ">= 1", "got 0"]),
    (["--n-jobs", "0"], ["--n-jobs", "got 0"]),
    (["--dataset", "mnist"], ["--dataset", "invalid choice", "'mnist'"]),
    (["--data-path", "somewhere"], ["--data-path is for the published data sets"]),
    (["--bogus"], ["unrecognized arguments", "--bogus"]),
    (["--attack-features", "logits"], ["--attack-features", "invalid choice"]),
    (["--scheduler", ""], ["--scheduler"]),
    (["--cycles", "x"], ["--cycles", "integer"]),
]


# the same for ``skfedmia mitigate``
MITIGATE_ROWS = [
    (["--delta", "2"], ["delta"]),
    (["--delta", "0"], ["delta"]),
    (["--threads", "0"], ["--threads", ">= 1"]),
    (["--n-jobs", "0"], ["--n-jobs", "got 0"]),
    (["--scheduler", " "], ["--scheduler"]),
    (["--device", "banana"], ["--device", "'cpu'", "'banana'"]),
    (["--data-path", "no/such/dataset_location.tgz"], ["cannot read the location data"]),
    (["--dataset", "purchases-like", "--data-path", "x"], ["--data-path is for the published"]),
    (["--dataset", "purchases-like", "--out", "/dev/null"], ["--out /dev/null is a file"]),
    (["--mitigations", "prayer"], ["mitigations"]),
    (["--dpsgd-epsilon", "-1"], ["epsilon"]),
    (["--dataset", "mnist"], ["--dataset", "invalid choice"]),
    (["--classes", "x"], ["--classes", "invalid int value"]),
]


def _cli_rows():
    rows = [("reproduce", args, words) for args, words in CLI_ROWS]
    rows += [("mitigate", args, words) for args, words in MITIGATE_ROWS]
    return [pytest.param(c, a, w, id=f"cli {c} " + " ".join(a)) for c, a, w in rows]


@pytest.mark.parametrize("command, args, words", _cli_rows())
def test_bad_option_exits_2_before_any_work(command, args, words, tmp_path, capsys):
    from skfedmia.experiments._cli import main

    from .experiments.conftest import TINY_ARGS

    out = tmp_path / "out"
    settings = TINY_ARGS if command == "reproduce" else ["--quick"]
    assert main([command, *settings, "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: skfedmia")
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"skfedmia {command}: error:") or "skfedmia: error:" in last
    for word in words:
        assert word in last
    assert not out.exists()  # nothing was computed or written


def test_clear_data_home_leaves_an_unmarked_folder(tmp_path):
    call = _refused_clear(str(tmp_path))
    with pytest.raises(ValueError, match=re.escape("no .skfedmia-data-home marker")):
        call()
    assert (tmp_path / "mine").is_dir()


@pytest.mark.parametrize(
    "attack",
    [
        "MembershipInferenceAttack",
        "LikelihoodRatioAttack",
        "ThresholdAttack",
        "RelativeMembershipInferenceAttack",
    ],
)
def test_attack_rows_with_other_columns_than_the_target(attack):
    """Shadow models would silently train on rows the target cannot read."""
    import skfedmia

    target = LogisticRegression().fit(X, Y)
    with pytest.raises(
        ValueError, match=r"target \(LogisticRegression\) cannot read the rows.*3 features"
    ):
        getattr(skfedmia, attack)(target, random_state=0).fit(X[:, :3], Y)


def test_text_columns_are_named():
    import pandas as pd

    frame = pd.DataFrame({"age": [30.0, 40.0, 50.0, 60.0], "city": ["a", "b", "a", "c"]})
    with pytest.raises(ValueError, match=r"needs numeric X \(non-numeric columns: \['city'\]\)"):
        _mlp().fit(frame, [0, 1, 0, 1])
    fitted = _mlp().fit(frame[["age"]].assign(n=1.0), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="OneHotEncoder"):
        fitted.predict(frame.rename(columns={"city": "n"}))
