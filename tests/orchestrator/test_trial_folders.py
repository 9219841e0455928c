"""Trial folder names stay short and distinct whatever the cell names."""

from __future__ import annotations

from orchestrator.trial.folder import folder_prefix


def test_a_short_cell_name_is_kept() -> None:
    assert folder_prefix("weights-one", 2, "dev", 3) == "weights-one_q2_seed3"
    assert folder_prefix("weights-one", 0, "test", 1) == "weights-one_q0_test_seed1"


def test_long_cell_names_are_cut_and_stay_distinct() -> None:
    stem = "local-intra_local_on-representations_weights-rho_alpha-0.2_global_loss-cossim"
    names = {folder_prefix(f"{stem}_beta-{beta}", 0, "test", 0) for beta in (0.1, 0.5, 1, 10)}
    assert len(names) == 4
    assert all(len(name) <= len("_q0_test_seed0") + 48 for name in names)
    assert all(name.startswith("local-intra_local_on") for name in names)
