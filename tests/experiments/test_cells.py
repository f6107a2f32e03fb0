"""What one reproduction cell draws."""

from __future__ import annotations

from skfedmia.attacks.membership import _base
from skfedmia.experiments._cells import iter_cells, load_data, run_centralized


def test_centralized_cell_draws_its_evaluation_set_with_the_helper(tiny_config, monkeypatch):
    config = tiny_config()
    spec = next(s for s in iter_cells(config) if s["kind"] == "centralized")
    data = load_data(config, spec["n_classes"], spec["seed"])
    real = _base.balanced_evaluation_set
    calls = []

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append((args, kwargs, result))
        return result

    monkeypatch.setattr(_base, "balanced_evaluation_set", spy)
    result = run_centralized(config, spec, data)
    [(args, kwargs, ((members, non_members), membership))] = calls
    n = min(config.n_target, config.n_test)
    assert len(members) == len(non_members) == n and membership.sum() == n
    assert len(args[0]) == config.n_target and len(args[1]) == config.n_test
    assert kwargs["sort"] is False  # rows in the order drawn, as the cells always had them
    assert result["attack"]["n_members"] == result["attack"]["n_non_members"] == n
