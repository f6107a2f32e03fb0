"""The mitigation study: each mitigation does what it claims, cells resume, bad input fails."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import SGDClassifier

from skfedmia import TorchMLPClassifier
from skfedmia.defenses import DPSGD
from skfedmia.experiments import (
    DPSGDCallback,
    MitigationConfig,
    run_mitigation_study,
    write_mitigation_report,
)
from skfedmia.experiments._mitigation import _federation, iter_mitigation_cells
from skfedmia.federated._adapters import get_flat_params


def _data(n=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def _tiny(**overrides):
    params = dict(
        dataset="purchases-like",
        n_classes=3,
        n_nodes=(2,),
        seeds=(0,),
        n_cycles=1,
        local_epochs=2,
        schedules=((2, 1),),
        input_noise=(0.5,),
        update_noise=(0.01,),
        dpsgd_noise=(1.0,),
        mitigations=("none", "input_noise"),
        n_shadow_models=2,
        n_eval=40,
        n_target=200,
        n_shadow=200,
        n_test=100,
        batch_size=32,
        device="cpu",
    )
    params.update(overrides)
    return MitigationConfig(**params)


def _spec(config, mitigation):
    return next(s for s in iter_mitigation_cells(config) if s["mitigation"] == mitigation)


def _hand_offs(fed, X, y):
    offs = []
    fed.set_params(
        callbacks=[
            lambda f, **kw: offs.append(get_flat_params(f.estimator_).detach().cpu().numpy().copy())
        ]
    )
    fed.fit(X, y)
    return np.stack([np.asarray(o) for o in offs])


def test_update_noise_is_in_the_hand_off():
    X, y = _data()
    # a clip far above the update leaves only the noise: sigma = multiplier * clip = 0.1
    cfg = _tiny(update_noise=(1e-4,), update_clip=1e3, mitigations=("update_noise",))
    quiet = _tiny(update_noise=(1e-12,), update_clip=1e3, mitigations=("update_noise",))
    noisy = _hand_offs(_federation(cfg, _spec(cfg, "update_noise"), np.random.RandomState(0)), X, y)
    clean = _hand_offs(
        _federation(quiet, _spec(quiet, "update_noise"), np.random.RandomState(0)), X, y
    )
    gap = noisy[0] - clean[0]  # the first node's hand-off: same training, different noise
    assert 0.08 < gap.std() < 0.12


def test_input_noise_reaches_the_nodes_training_rows():
    X, y = _data()
    seen = []

    class Recorder(SGDClassifier):
        def partial_fit(self, X, y, classes=None, sample_weight=None):
            seen.append(np.array(X))
            return super().partial_fit(X, y, classes=classes)

    cfg = _tiny()
    fed = _federation(cfg, _spec(cfg, "input_noise"), np.random.RandomState(0))
    assert fed.input_noise == 0.5
    fed.set_params(estimator=Recorder(loss="log_loss", random_state=0), n_nodes=1)
    fed.fit(X, y)
    rows = fed.node_indices_[0]
    assert 0.45 < np.std(seen[0] - X[rows]) < 0.55


def test_dpsgd_clips_every_example():
    from skorch.callbacks import Callback
    from skorch.dataset import unpack_data

    X, y = _data(64)
    X[0] *= 1e3  # one example with a huge gradient
    seen = []
    clip = 0.01

    class Check(Callback):  # runs after DP-SGD has written the gradient
        def on_grad_computed(self, net, named_parameters, batch=None, **kwargs):
            grads = torch.cat([p.grad.flatten() for _, p in named_parameters])
            Xb, yb = unpack_data(batch)
            per = DPSGD().per_example_gradients(net.module_, Xb, yb)
            flat = torch.cat([g.reshape(len(yb), -1) for g in per], dim=1)
            norms = torch.linalg.vector_norm(flat, dim=1)
            clipped = flat * (clip / norms).clamp(max=1.0)[:, None]
            seen.append((grads, flat.mean(0), clipped.mean(0), norms))

    def train(callbacks):
        seen.clear()
        TorchMLPClassifier(
            max_epochs=1,
            batch_size=64,
            dropout=0.0,
            callbacks=callbacks,
            random_state=0,
            device="cpu",
        ).fit(X, y)
        return seen[0]

    grads, plain_mean, _, norms = train([Check()])
    torch.testing.assert_close(grads, plain_mean, rtol=1e-4, atol=1e-6)
    assert (norms > clip).all()
    grads, _, clipped_mean, _ = train(
        [DPSGDCallback(noise_multiplier=0.0, max_grad_norm=clip), Check()]
    )
    torch.testing.assert_close(grads, clipped_mean, rtol=1e-4, atol=1e-7)
    assert float(torch.linalg.vector_norm(grads)) <= clip + 1e-6


def test_random_order_changes_per_cycle_and_repeats_with_its_seed():
    X, y = _data()
    cfg = _tiny(n_nodes=(4,), n_cycles=6, local_epochs=1, schedules=((3, 2),))
    cfg.mitigations = ("random_order",)
    spec = _spec(cfg, "random_order")
    spec = {**spec, "n_cycles": 6, "local_epochs": 1}

    def orders():
        fed = _federation(cfg, spec, np.random.RandomState(0))
        fed.set_params(estimator=SGDClassifier(loss="log_loss", random_state=0))
        fed.fit(X, y)
        trained = [r["node"] for r in fed.history_]
        assert trained == fed.node_orders_.ravel().tolist()
        return fed.node_orders_

    first, again = orders(), orders()
    assert len({tuple(o) for o in first}) > 1
    np.testing.assert_array_equal(first, again)
    fixed = _federation(cfg, {**spec, "mitigation": "none"}, np.random.RandomState(0))
    assert fixed.node_order == "fixed"


def test_study_resumes_without_recomputing_finished_cells(tmp_path):
    cfg = _tiny()
    n_cells = len(list(iter_mitigation_cells(cfg)))
    computed = []

    class Stop(Exception):
        pass

    def interrupt(spec, record, reused):
        if not reused:
            computed.append(spec["mitigation"])
            raise Stop

    with pytest.raises(Stop):
        run_mitigation_study(cfg, tmp_path, verbose=0, on_cell=interrupt)
    assert computed == ["none"]
    log = []
    records = run_mitigation_study(
        cfg, tmp_path, verbose=0, on_cell=lambda s, r, reused: log.append(reused)
    )
    assert log == [True] + [False] * (n_cells - 1)
    assert len(records) == n_cells
    log.clear()
    run_mitigation_study(cfg, tmp_path, verbose=0, on_cell=lambda s, r, reused: log.append(reused))
    assert log == [True] * n_cells
    result = records[0]["result"]
    assert 0 <= result["insider_n1"]["auc"] <= 1
    assert result["epsilon_lower_bound"]["epsilon"] >= 0
    paths = write_mitigation_report(records, tmp_path, config=cfg)
    report = paths["report.md"].read_text()
    assert "Best at equal accuracy" in report or "No mitigation keeps accuracy" in report
    assert f"All {n_cells} cells of the configuration are computed." in report
    # a report of a partial run says on how many cells it rests, and which are missing
    partial = write_mitigation_report(records[:1], tmp_path / "partial", config=cfg)
    text = partial["report.md"].read_text()
    assert f"Partial run: these results rest on 1 of the configuration's {n_cells} cells" in text
    assert "Partial run" not in report
    assert paths["privacy_utility_nodes_2.png"].stat().st_size > 0
    summary = paths["mitigation_summary.csv"].read_text()
    assert "peer_to_peer" in summary and "input_noise" in summary


def test_colluding_figures_where_they_apply_and_stale_cells_are_recomputed(tmp_path):
    from skfedmia.experiments._mitigation import mitigation_table
    from skfedmia.experiments._store import CellStore

    # two cycles: N1's last step has a predecessor; one cycle of a random order may not
    cfg = _tiny(
        n_cycles=2,
        local_epochs=1,
        schedules=((1, 2),),
        mitigations=("none", "random_order", "peer_to_peer"),
    )
    specs = list(iter_mitigation_cells(cfg))
    assert all(s["insiders"].startswith("single+colluding") for s in specs)
    # a cell of the format without colluding figures, stored under its old spec
    store = CellStore(tmp_path / "cells")
    old_spec = {k: v for k, v in specs[0].items() if k != "insiders"}
    store.save(old_spec, {"test_accuracy": 0.0})
    computed = []

    class Stop(Exception):
        pass

    def interrupt(spec, record, reused):
        if not reused:
            computed.append(spec["mitigation"])
            raise Stop

    with pytest.raises(Stop):
        run_mitigation_study(cfg, tmp_path, verbose=0, on_cell=interrupt)
    assert computed == ["none"]  # the stale cell was not taken for it
    log = []
    records = run_mitigation_study(
        cfg, tmp_path, verbose=0, on_cell=lambda s, r, reused: log.append(reused)
    )
    assert log == [True] + [False] * (len(specs) - 1)
    for rec in records:
        res = rec["result"]
        order = np.asarray(res["node_orders"]).ravel()
        last_n1 = int(np.flatnonzero(order == 0)[-1])
        pair = res["colluding"]
        if last_n1 == 0:  # nobody handed N1 the model: nobody to collude with
            assert pair is None
            continue
        assert 0 <= pair["auc"] <= 1 and 0 <= pair["tpr_at_1_fpr"] <= 1
        assert pair["auc_low"] <= pair["auc"] <= pair["auc_high"]
        assert pair["n_members"] == res["insider_n1"]["n_members"]
        assert pair["before_node"] == order[last_n1 - 1]
        after = None if last_n1 + 1 == len(order) else order[last_n1 + 1]
        assert pair["after_node"] == after
        assert pair["auc_gain_low"] <= pair["auc"] - res["insider_n1"]["auc"] + 1e-9
        assert pair["weight"] >= 0
        # calibrated on the predecessor's own step, unless that step was the first of all
        own = "reproduced step" if last_n1 == 1 else "predecessor's own step"
        assert pair["calibration"] == own
    none = records[0]["result"]
    assert none["colluding"] is not None  # fixed order, second cycle: N2 hands N1 the model
    _, summary = mitigation_table(records)
    p2p = summary[summary["mitigation"] == "peer_to_peer"].iloc[0]
    assert not p2p["colluding_applies"] and np.isnan(p2p["colluding_auc"])
    row = summary[summary["mitigation"] == "none"].iloc[0]
    assert row["colluding_applies"]
    assert row["colluding_auc_gain"] == pytest.approx(row["colluding_auc"] - row["insider_auc"])
    paths = write_mitigation_report(records, tmp_path, config=cfg)
    report = paths["report.md"].read_text()
    assert "colluding AUC" in report and "n/a" in report
    assert "colluding_auc" in paths["mitigation_summary.csv"].read_text()
    log.clear()
    run_mitigation_study(cfg, tmp_path, verbose=0, on_cell=lambda s, r, reused: log.append(reused))
    assert log == [True] * len(specs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_noise": (-0.1,)}, "input_noise must hold finite numbers > 0"),
        ({"update_noise": (0.0,)}, "update_noise must hold finite numbers > 0"),
        ({"dpsgd_noise": (-1,)}, "dpsgd_noise must hold finite numbers > 0"),
        ({"update_clip": 0}, "update_clip must hold finite numbers > 0"),
        ({"dpsgd_epsilon": (0.0,)}, "dpsgd_epsilon must hold finite numbers > 0"),
        ({"dpsgd_epsilon": (-2.0,)}, "dpsgd_epsilon must hold finite numbers > 0"),
        ({"delta": 0.0}, "delta must be a number in \\(0, 1\\)"),
        ({"delta": 1.0}, "delta must be a number in \\(0, 1\\)"),
        ({"schedules": ((3, 3),)}, "keeps the total"),
        ({"schedules": ((0, 2),)}, "schedules must hold"),
        ({"mitigations": ("dropout",)}, "mitigations must be a non-empty subset"),
    ],
)
def test_bad_strengths_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _tiny(**kwargs)


def test_dpsgd_callback_rejects_bad_noise_and_other_losses():
    X, y = _data(32)
    bad = TorchMLPClassifier(max_epochs=1, callbacks=[DPSGDCallback(noise_multiplier=-1.0)])
    with pytest.raises(ValueError, match="noise_multiplier"):
        bad.fit(X, y)
    nll = TorchMLPClassifier(
        max_epochs=1, criterion=torch.nn.NLLLoss, callbacks=[DPSGDCallback()], device="cpu"
    )
    with pytest.raises(ValueError, match="CrossEntropyLoss"):
        nll.fit(X, y)


def test_the_cli_runs_the_study(tmp_path, capsys):
    from skfedmia.experiments._cli import main

    assert main(["mitigate", "--quick", "--delta", "2", "--out", str(tmp_path)]) == 2
    assert "delta must be" in capsys.readouterr().err


def test_dpsgd_strength_as_target_epsilon_is_met_by_the_accountant():
    from skfedmia.experiments._mitigation import _accountant_epsilon, noise_for_epsilon

    cfg = _tiny(dpsgd_epsilon=(2.0, 8.0), mitigations=("dp_sgd",))
    specs = [s for s in iter_mitigation_cells(cfg) if s["mitigation"] == "dp_sgd"]
    assert [s["strength"] for s in specs] == ["eps=2", "eps=8"]
    rows = cfg.pools()[0] // 2
    spent = [_accountant_epsilon(s, [rows, rows]) for s in specs]
    assert 1.9 < spent[0] <= 2.0
    assert 7.6 < spent[1] <= 8.0
    with pytest.raises(ValueError, match="epsilon must be a finite number > 0"):
        noise_for_epsilon(0.0, 0.1, 10)


def test_cells_in_parallel_equal_a_serial_run(tmp_path):
    def results(n_jobs, folder):
        cfg = _tiny(n_jobs=n_jobs, mitigations=("none", "input_noise", "random_order"))
        records = run_mitigation_study(cfg, tmp_path / folder, verbose=0)
        return [
            (rec["spec"], {k: v for k, v in rec["result"].items() if k != "seconds"})
            for rec in records
        ]

    serial = results(1, "serial")
    assert len(serial) == 4  # random order at the base schedule and at (2, 1)
    assert results(2, "parallel") == serial
    # one cell alone (a fresh process cache) gives the numbers it gave in the serial run
    from skfedmia.experiments import _mitigation
    from skfedmia.experiments._store import _jsonable

    _mitigation._CELL_CACHE.clear()
    cfg = _tiny(n_jobs=1, mitigations=("none", "input_noise", "random_order"))
    _, result = _mitigation._compute_cell(cfg, serial[-1][0])
    assert {k: v for k, v in _jsonable(result).items() if k != "seconds"} == serial[-1][1]


def test_cells_on_a_dask_cluster_equal_a_local_run(tmp_path):
    from .conftest import dask_backend

    cfg = _tiny(n_jobs=1)
    local = run_mitigation_study(cfg, tmp_path / "local", verbose=0)
    with dask_backend(threads_per_worker=2):
        dask = run_mitigation_study(_tiny(n_jobs=None), tmp_path / "dask", verbose=0)
    assert len(dask) == len(local) == len(list(iter_mitigation_cells(cfg)))
    for a, b in zip(local, dask, strict=True):
        assert a["spec"] == b["spec"]
        drop = {"seconds"}
        assert {k: v for k, v in a["result"].items() if k not in drop} == {
            k: v for k, v in b["result"].items() if k not in drop
        }
