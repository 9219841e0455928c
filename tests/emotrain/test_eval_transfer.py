"""Annotation-format transfer (``transfer.eval_data``): a tiny Demux trained on real SemEval
English is scored, zero-shot, on another dataset's test split through its clusters, while early
stopping stays on SemEval's dev split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from emotrain import train
from emotrain.config import TrainConfig
from emotrain.config_errors import ConfigError
from emotrain.data.loading import load_splits
from emotrain.emotions import SEMEVAL_EMOTIONS
from emotrain.eval_targets import cluster_problem, eval_targets
from orchestrator import run

EKMAN = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
REPO = Path(__file__).resolve().parents[2]


def _config(semeval: Path, target: dict[str, Any], clusters: Path | None, **transfer: Any) -> dict:
    return {
        "data": {"root": str(semeval), "train_limit": 200, "eval_limit": 60},
        "optim": {"max_epochs": 1, "lr": 3e-3, "batch_size": 16},
        "transfer": {"eval_data": target, "eval_clusters": clusters, **transfer},
        "threads": 1,
        "cache_dir": "off",
    }


def _goemotions(root: Path) -> dict[str, Any]:
    return {"dataset": "goemotions", "root": str(root), "eval_limit": 80,
            "preprocess": {"reddit": True}}  # fmt: skip


def _f1_names(metrics: dict[str, float]) -> set[str]:
    return {k.removesuffix("_f1") for k in metrics if k.endswith("_f1")} - {"micro", "macro"}


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_semeval_model_scored_on_goemotions_ekman(
    semeval_root: Path, goemotions_root: Path, pooling: str
) -> None:
    ekman = goemotions_root / "ekman_mapping.json"
    config = _config(semeval_root, _goemotions(goemotions_root), ekman, cluster_pooling=pooling)
    result = train(config)
    assert _f1_names(result.test) == set(EKMAN)  # exactly the six clusters
    assert _f1_names(result.best_dev) == set(SEMEVAL_EMOTIONS)  # early stopping: SemEval dev
    assert all(0.0 <= result.test[f"{name}_f1"] <= 1.0 for name in EKMAN)


def test_targets_relabel_the_target_and_keep_dev(semeval_root: Path, goemotions_root: Path) -> None:
    ekman = goemotions_root / "ekman_mapping.json"
    cfg = TrainConfig.model_validate(_config(semeval_root, _goemotions(goemotions_root), ekman))
    targets = eval_targets(cfg, load_splits(cfg.data))
    dev, test = targets["dev"], targets["test"]
    assert dev.data.emotions == SEMEVAL_EMOTIONS and len(dev.data) == 60
    assert test.emotions.names == EKMAN and test.data.labels.shape == (80, 6)
    assert len(test.prompt_words) == 27  # the target's own words, every member once
    raw = load_splits(cfg.transfer.eval_data, ("test",))["test"]
    members = json.loads(ekman.read_text())["surprise"]
    columns = [raw.emotions.index(m) for m in members]
    assert (test.data.labels[:, 5] == raw.labels[:, columns].max(axis=1)).all()


def test_a_semeval_target_gets_its_own_language(semeval_root: Path) -> None:
    target = {"root": str(semeval_root), "language": "spanish", "eval_limit": 10}
    cfg = TrainConfig.model_validate(_config(semeval_root, target, None))
    test = eval_targets(cfg, load_splits(cfg.data))["test"]
    assert test.language == "spanish" and "alegría" in test.prompt_words


def test_a_table_target_with_its_own_clusters(semeval_root: Path, tmp_path: Path) -> None:
    table = tmp_path / "mine.csv"
    rows = ["text,happy,sad,angry", "what a great day,1,0,0", "this is awful,0,1,1",
            "meh,0,0,0", "so glad and so mad,1,0,1"]  # fmt: skip
    table.write_text("\n".join(rows) + "\n")
    clusters = tmp_path / "clusters.json"
    clusters.write_text(json.dumps({"positive": ["happy"], "negative": ["sad", "angry"]}))
    target = {"dataset": "table", "train_file": str(table), "dev_file": str(table),
              "test_file": str(table)}  # fmt: skip
    result = train(_config(semeval_root, target, clusters))
    assert _f1_names(result.test) == {"positive", "negative"}


def test_an_unknown_cluster_member_is_a_config_error(
    semeval_root: Path, goemotions_root: Path, tmp_path: Path
) -> None:
    clusters = tmp_path / "typo.json"
    clusters.write_text(json.dumps({"joy": ["joy", "amusment"], "fear": ["fear"]}))
    config = _config(semeval_root, _goemotions(goemotions_root), clusters)
    assert cluster_problem(TrainConfig.model_validate(config)) == (
        f"{clusters}: amusment not among the emotions of transfer.eval_data (goemotions)"
    )
    with pytest.raises(ConfigError, match=r"^transfer\.eval_clusters: .*typo\.json: .*amusment"):
        train(config)


def test_the_sweep_preflight_names_the_bad_clusters(
    semeval_root: Path, goemotions_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    clusters = tmp_path / "typo.json"
    clusters.write_text(json.dumps({"joy": ["joy", "amusment"]}))
    argv = [str(REPO / "sweeps" / "transfer-clusters.yaml"), "--dry-run", "--smoke",
            "--set", f"base.data.root={semeval_root}",
            "--set", f"base.transfer.eval_data.root={goemotions_root}",
            "--set", f"base.transfer.eval_clusters={clusters}"]  # fmt: skip
    assert run.main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"error: --set base.transfer.eval_clusters: {clusters}: amusment not among the emotions "
        "of transfer.eval_data (goemotions)"
    )


def test_eval_data_needs_demux(semeval_root: Path) -> None:
    config = _config(semeval_root, {"root": str(semeval_root)}, None)
    with pytest.raises(ValidationError, match=r"eval_data .*need Demux"):
        TrainConfig.model_validate(config | {"model": {"kind": "memo"}})
