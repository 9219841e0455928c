"""The config key across changes of defaults: a run that sets what every earlier run had keeps
the key it was stored under (the keys below were computed by the code before the change), and
a run under a new default gets a key of its own, so an earlier results folder is never taken
for new-default trials."""

from __future__ import annotations

from typing import Any

import pytest

from emotrain import TrainConfig

# What the defaults were before the speed options, the paper reduction and the preprocessing
# parity changed them.
EARLIER_DEFAULTS: dict[str, Any] = {
    "optim": {"fused": False},
    "model": {"top_layer_on_prompt": False, "fast_dropout": False, "padding_free": False},
    "data": {
        "preprocess": {
            "hashtag_words": False,
            "emoji_language": {"english": "en", "spanish": "en", "arabic": "en"},
        }
    },
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in extra.items():
        merged[name] = _merge(merged.get(name, {}), value) if isinstance(value, dict) else value
    return merged


# (config as written before the change, the key stored for it then)
STORED = [
    ({}, "44136fa355b3678a"),
    ({"loss": {"local": "intra", "weights": "rho", "alpha": 0.2}}, "4f51813476690811"),
    ({"loss": {"global_loss": "cossim", "beta": 0.5}}, "bde00a8ea6aa2611"),
    ({"data": {"root": "x", "language": "spanish"}}, "a0c9a5655c4411b9"),
]


@pytest.mark.parametrize(("written", "stored"), STORED)
def test_the_earlier_settings_keep_their_stored_key(written: dict[str, Any], stored: str) -> None:
    earlier = _merge(EARLIER_DEFAULTS, written)
    if written.get("loss"):
        earlier = _merge(earlier, {"loss": {"reduction": "pair_mean"}})
    assert TrainConfig.model_validate(earlier).config_key() == stored


@pytest.mark.parametrize(("written", "stored"), STORED)
def test_the_new_defaults_get_keys_of_their_own(written: dict[str, Any], stored: str) -> None:
    assert TrainConfig.model_validate(written).config_key() != stored


def test_the_speed_options_stored_as_opted_in_keep_their_key() -> None:
    opted_in = {
        "optim": {"fused": True, "group_by_length": True},
        "model": {"top_layer_on_prompt": True, "fast_dropout": True},
    }
    # Only the preprocessing and padding_free defaults changed for this one.
    earlier = {"data": EARLIER_DEFAULTS["data"], "model": {"padding_free": False}}
    config = TrainConfig.model_validate(_merge(opted_in, earlier))
    assert config.config_key() == "4e1fc17232c80945"
    assert config.trial_key() == "e38ddce908e96905"


def test_the_reduction_counts_only_with_a_correlation_loss() -> None:
    bce = [TrainConfig.model_validate({"loss": {"reduction": r}}) for r in ("paper", "pair_mean")]
    assert bce[0].config_key() == bce[1].config_key()
    intra = {"local": "intra", "alpha": 0.2}
    keys = {
        TrainConfig.model_validate({"loss": {**intra, "reduction": r}}).config_key()
        for r in ("paper", "pair_mean")
    }
    assert len(keys) == 2
    # A local loss at alpha 0 trains BCE alone: the reduction is inert there too.
    inert = {"local": "intra", "alpha": 0.0}
    keys = {
        TrainConfig.model_validate({"loss": {**inert, "reduction": r}}).config_key()
        for r in ("paper", "pair_mean")
    }
    assert len(keys) == 1


def test_an_option_at_its_new_default_is_the_same_run_written_or_not() -> None:
    written = TrainConfig.model_validate(
        {"optim": {"fused": True}, "model": {"fast_dropout": True}}
    )
    assert written.config_key() == TrainConfig().config_key()


# Keys stored by the converged study's first trials, before model.padding_free existed (the
# defaults then: fused AdamW, the prompt-only top layer, fast dropout, the paper reduction).
BEFORE_PADDING_FREE = [
    ({}, "58a5aa5f0de34501"),
    ({"loss": {"local": "intra", "weights": "rho", "alpha": 0.2}}, "0a3c467bbd0da379"),
    ({"model": {"kind": "memo"}}, "8a3046719b4df950"),
]


@pytest.mark.parametrize(("written", "stored"), BEFORE_PADDING_FREE)
def test_runs_before_padding_free_keep_their_key_when_they_set_it_off(
    written: dict[str, Any], stored: str
) -> None:
    """``model.padding_free`` (on by default) is set off in the study's sweep file, so the
    study resumes on its stored trials; left at the default, a run gets a key of its own."""
    off = _merge(written, {"model": {"padding_free": False}})
    assert TrainConfig.model_validate(off).config_key() == stored
    assert TrainConfig.model_validate(written).config_key() != stored
