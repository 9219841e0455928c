"""Independent reference transcription (test oracle) of the label-correlation
losses of the original Demux / MEmo implementation.

Original repository: GitHub ``gchochla/Demux-MEmo`` (package ``emorec``).
Transcribed from the three files below (line numbers refer to the files as
stored in that repository; those files have a single revision there):

* ``emorec/emorec_utils/trainer.py``, class ``SemEval2018Task1EcTrainer``:
  ``_inter_distances`` (l.291-299), ``_intra_distances`` (l.301-318),
  ``_inter_correlation`` (l.320-366), ``_intra_correlation`` (l.368-422),
  ``_complete_correlation`` (l.424-438), ``calculate_cls_loss`` (l.440-458),
  ``calculate_regularization_loss`` (l.460-507).
* ``emorec/models/demux/trainer.py``, class ``DemuxTrainerMixin``:
  ``__init__`` (l.44-55), ``_global_distances`` (l.57-74),
  ``calculate_regularization_loss`` (l.76-104).
* ``emorec/train_utils.py``: ``_EPSILON`` (l.244),
  ``_TORCH_FUNCTIONS_IN_01`` (l.246-251), ``_make_function_from_str``
  (l.254-258), ``_PLUTCHIK_WHEEL_ANGLES`` (l.451-474, English part only),
  ``Correlations.__init__`` / ``_handle_index`` / ``get`` (l.535-667).
* ``emorec/trainer.py``: ``BaseTrainer.calculate_loss`` (l.308-341), which
  sums ``calculate_cls_loss`` and ``calculate_regularization_loss``.

The code keeps the original's arithmetic on purpose, quirks included (per
example Python loops, ``triu(diagonal=1)`` *before* ``exp()`` so masked
entries contribute ``exp(0) = 1`` times their weight, means over the whole
square / rectangular matrices, the halving rule of the intra loss, the
``inter == 0`` shortcut of the complete loss, the sigmoid in the inter loss
only, the squeeze in ``Correlations.get`` and its broadcasting consequences,
and the ``+ 1e-5`` epsilon of the weight functions).

Only torch and numpy are used; nothing from the project under test is imported.

Dtypes: in the original, correlation weights are float64 (``torch.from_numpy``
of ``np.corrcoef``, or ``torch.tensor`` of ``np.float64`` cosines), ``.to(device)``
keeps float64, and multiplying float32 values by them promotes the losses to
float64 (except when a weight has been squeezed to a 0-dim tensor, which does
not promote). By default this oracle instead casts every weight to the dtype of
the values it multiplies (see ``_weight_like``), so all losses come out in the
dtype of the inputs; set ``KEEP_ORIGINAL_DTYPES = True`` to reproduce the
original promotion exactly. The numbers differ only by float32 rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

ORIGINAL_REPO = "gchochla/Demux-MEmo"

# When False (default), weights are cast to the values' dtype before they are
# multiplied in (simplification, see module docstring). When True, weights keep
# their float64 dtype and torch type promotion happens as in the original.
KEEP_ORIGINAL_DTYPES = False

# emorec/train_utils.py l.244: ``_EPSILON = 1e-5``
EPSILON = 1e-5


# ---------------------------------------------------------------------------
# Weight functions (emorec/train_utils.py)
# ---------------------------------------------------------------------------

# emorec/train_utils.py l.246-251, ``_TORCH_FUNCTIONS_IN_01``.
_FUNCTIONS_IN_01: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sqrt": lambda t: torch.sqrt(t) + EPSILON,
    "identity": lambda t: t + EPSILON,
    "square": lambda t: torch.square(t) + EPSILON,
    "log": lambda t: torch.relu(torch.log(t + EPSILON)),
}


def weight_function(func: str, decreasing: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """Weight function of a correlation value.

    Transcribes ``_make_function_from_str`` in ``emorec/train_utils.py`` of
    gchochla/Demux-MEmo (l.254-258): increasing -> ``f(x)`` (for ``identity``:
    ``x + 1e-5``); decreasing -> ``1 + int("_p1" in func) - f(x)`` (for
    ``identity``: ``1 - (x + 1e-5)``). As in the original, the table lookup is
    done with the full string, so a name ending in ``_p1`` raises ``KeyError``
    (l.255) before the ``_p1`` branch could ever be used.
    """
    base = _FUNCTIONS_IN_01[func]
    if not decreasing:
        return base
    offset = 1 + int("_p1" in func)
    return lambda t: offset - base(t)


# ---------------------------------------------------------------------------
# Correlation matrices (emorec/train_utils.py, Correlations)
# ---------------------------------------------------------------------------


def _plutchik_angles() -> dict[str, float]:
    """English Plutchik wheel angles.

    Transcribes ``_PLUTCHIK_WHEEL_ANGLES`` (English part) in
    ``emorec/train_utils.py`` of gchochla/Demux-MEmo (l.451-474): the i-th name
    of a fixed 16-name list sits at ``pi * i / 8`` and ``pessimism`` at the
    angle of ``optimism`` plus ``pi``. The original's spelling
    ``agressiveness`` is kept.
    """
    wheel = [
        "fear",
        "submission",
        "trust",
        "love",
        "joy",
        "optimism",
        "anticipation",
        "agressiveness",
        "anger",
        "contempt",
        "disgust",
        "remorse",
        "sadness",
        "disapproval",
        "surprise",
        "awe",
    ]
    angles = {name: np.pi * position / 8 for position, name in enumerate(wheel)}
    angles["pessimism"] = angles["optimism"] + np.pi
    return angles


PLUTCHIK_ANGLES = _plutchik_angles()


def correlations(labels_or_none, emotions: list[str], normalize: bool) -> torch.Tensor:
    """Label-correlation matrix ``[N, N]`` (float64).

    Transcribes ``Correlations.__init__`` in ``emorec/train_utils.py`` of
    gchochla/Demux-MEmo (l.573-608):

    * ``labels_or_none`` given (``[M, N]`` 0/1 labels, tensor / array / list):
      ``torch.from_numpy(np.corrcoef(labels, rowvar=False))`` (l.596-603);
      a constant column gives NaN rows, as in the original.
    * ``None``: prior correlations ``cos(angle_i - angle_j)`` on the Plutchik
      wheel, built with ``torch.tensor`` of ``np.float64`` scalars, row index
      ``i`` outer (l.582-593). Only English names are supported here.
    * ``normalize``: ``corrs / 2 + 0.5`` (l.607-608).
    """
    if labels_or_none is None:
        corrs = torch.tensor(
            [
                [
                    np.cos(PLUTCHIK_ANGLES[row_name] - PLUTCHIK_ANGLES[col_name])
                    for col_name in emotions
                ]
                for row_name in emotions
            ]
        )
    else:
        data = labels_or_none
        if torch.is_tensor(data):
            data = data.cpu().numpy()
        elif not isinstance(data, np.ndarray):
            data = np.array(data)
        corrs = torch.from_numpy(np.corrcoef(data, rowvar=False))

    if normalize:
        corrs = corrs / 2 + 0.5
    return corrs


def pair_weight(
    corrs: torch.Tensor | None,
    rows: list[int],
    cols: list[int],
    decreasing: bool,
    *,
    func: str = "identity",
) -> torch.Tensor | None:
    """Weights of emotion pairs, exactly as ``Correlations.get`` returns them.

    Transcribes ``Correlations.get`` and ``Correlations._handle_index`` in
    ``emorec/train_utils.py`` of gchochla/Demux-MEmo (l.610-667), with integer
    indices (``rows`` is the original's ``_is``, ``cols`` its ``js``):

    * ``None`` when inactive (``corrs is None`` here, l.653-654) or when an
      index list is empty (l.630-631, l.659-660);
    * the picked matrix is laid out ``[len(cols), len(rows)]`` with entry
      ``[c, r] = corrs[rows[r], cols[c]]`` (l.664-665, "inner loop is first
      dim"), built with ``torch.tensor`` from 0-dim elements, so it has
      ``corrs``' dtype and no autograd link;
    * then ``.squeeze()`` (l.666): a single row and/or column collapses the
      matrix to 1-D or 0-D, which later *broadcasts* against the values;
    * then the weight function (l.662-663; ``identity``: ``x + 1e-5``,
      decreasing: ``1 - (x + 1e-5)``).
    """
    if corrs is None:
        return None
    # _handle_index: a lone int becomes a one-element list; empty -> None.
    if isinstance(rows, int):
        rows = [rows]
    if isinstance(cols, int):
        cols = [cols]
    if len(rows) == 0 or len(cols) == 0:
        return None

    picked = torch.tensor([[corrs[r, c] for r in rows] for c in cols]).squeeze()
    return weight_function(func, decreasing)(picked)


def _weight_like(weight: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Moves a weight next to the values it multiplies.

    The original calls ``weight.to(self.exp_handler.device)`` (e.g.
    ``emorec/emorec_utils/trainer.py`` l.365, l.396, l.416 and
    ``emorec/models/demux/trainer.py`` l.96), which keeps float64. Unless
    ``KEEP_ORIGINAL_DTYPES`` is set, the weight is additionally cast to the
    values' dtype (simplification of this oracle, not in the original).
    """
    if KEEP_ORIGINAL_DTYPES:
        return weight.to(values.device)
    return weight.to(device=values.device, dtype=values.dtype)


def _example_indices(mask: torch.Tensor) -> list[int]:
    """Positions where ``mask`` holds, ascending (the original's
    ``categories[mask].tolist()`` keeps the emotion order, l.355-356)."""
    return torch.nonzero(mask.cpu(), as_tuple=False).flatten().tolist()


# ---------------------------------------------------------------------------
# Local (per example) losses (emorec/emorec_utils/trainer.py)
# ---------------------------------------------------------------------------


def _inter_distance(
    distance: str, present: torch.Tensor, absent: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """Distance between the present and the absent group.

    Transcribes ``SemEval2018Task1EcTrainer._inter_distances`` in
    ``emorec/emorec_utils/trainer.py`` of gchochla/Demux-MEmo (l.291-299):

    * ``exp_diff`` (l.298): ``exp(absent_a - present_p)`` laid out ``[P, A]``,
      times the weight, mean over the whole tensor (after broadcasting);
    * ``cossim`` (l.293-297): ``cosine_similarity`` of ``present.unsqueeze(-1)``
      ``[P, D, 1]`` and ``absent.unsqueeze(0).transpose(2, 1)`` ``[1, D, A]``
      along dim 1 -> ``[P, A]`` (not negated), times the weight, mean;
    * ``sq_diff`` (l.292): ``-(present - absent.unsqueeze(-1))**2`` laid out
      ``[A, P]`` (sic: transposed w.r.t. the ``[P, A]`` weight), times the
      weight, mean. Kept for completeness; it only broadcasts when the shapes
      happen to allow it, exactly like the original.
    """
    if distance == "exp_diff":
        gaps = absent - present.unsqueeze(-1)  # [P, A]
        return gaps.exp().mul(weight).mean()
    if distance == "cossim":
        present_cols = present.unsqueeze(-1)  # [P, D, 1]
        absent_cols = absent.unsqueeze(0).transpose(2, 1)  # [1, D, A]
        sims = F.cosine_similarity(present_cols, absent_cols, dim=1)  # [P, A]
        return sims.mul(weight).mean()
    if distance == "sq_diff":
        diffs = present - absent.unsqueeze(-1)
        return -(diffs.square().mul(weight).mean())
    raise KeyError(distance)


def _intra_distance(distance: str, group: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Distance inside one group (present or absent).

    Transcribes ``SemEval2018Task1EcTrainer._intra_distances`` in
    ``emorec/emorec_utils/trainer.py`` of gchochla/Demux-MEmo (l.301-318):

    * ``exp_diff`` (l.313-317): matrix ``[K, K]`` of ``x_i + x_j``, then
      ``triu(diagonal=1)`` (diagonal and lower part set to 0) and only then
      ``exp()``, so every masked entry becomes ``exp(0) = 1`` and still adds its
      weight; times the weight; mean over all ``K * K`` entries;
    * ``cossim`` (l.307-312): minus the mean of the ``triu(diagonal=1)``-masked,
      weighted ``[K, K]`` cosine-similarity matrix (masked entries add 0);
    * ``sq_diff`` (l.302-306): ``(x_j - x_i)**2`` masked by ``triu(1)``,
      weighted, mean. Kept for completeness.
    """
    if distance == "exp_diff":
        sums = group.unsqueeze(-1) + group  # [K, K], entry (i, j) = x_i + x_j
        return sums.triu(diagonal=1).exp().mul(weight).mean()
    if distance == "cossim":
        rows = group.unsqueeze(-1)  # [K, D, 1]
        cols = group.unsqueeze(0).transpose(2, 1)  # [1, D, K]
        sims = F.cosine_similarity(rows, cols, dim=1)  # [K, K]
        return -(sims.triu(diagonal=1).mul(weight).mean())
    if distance == "sq_diff":
        diffs = group - group.unsqueeze(-1)
        return diffs.triu(diagonal=1).square().mul(weight).mean()
    raise KeyError(distance)


def inter_example(vals, trues, corrs, distance: str, *, func: str = "identity") -> torch.Tensor:
    """Inter-group (present vs absent) loss of one example.

    Transcribes ``SemEval2018Task1EcTrainer._inter_correlation`` in
    ``emorec/emorec_utils/trainer.py`` of gchochla/Demux-MEmo (l.320-366).

    ``vals``: ``[N]`` logits (``exp_diff``) or ``[N, D]`` representations
    (``cossim``); ``trues``: ``[N]`` labels; ``corrs``: ``[N, N]`` (normalised)
    correlation matrix, or ``None`` for weights of ones (weighting off).

    * absent = ``trues < 0.5``, present = ``trues >= 0.5`` (l.343-344);
    * if either group is empty: a constant ``tensor(0.0)`` with no graph
      (l.347-348);
    * ``sigmoid`` is applied to both groups' values, whether they are logits
      or representations (l.350-351);
    * weight = ``Correlations.get((absent, present), decreasing=True)``, i.e.
      ``[P, A]`` of ``1 - (corr + 1e-5)``, squeezed (l.353-359). With a single
      absent label it is ``[P]`` and broadcasts against the ``[P, 1]`` values
      into ``[P, P]`` (mean = mean of values times mean of weights);
    * weighting off: ``torch.ones(P, A)``, no squeeze, no epsilon (l.361-362).
    """
    absent_mask = trues < 0.5
    present_mask = trues >= 0.5

    if not bool(absent_mask.any()) or not bool(present_mask.any()):
        return torch.tensor(0.0, device=vals.device)

    absent = vals[absent_mask].sigmoid()
    present = vals[present_mask].sigmoid()

    weight = pair_weight(
        corrs,
        _example_indices(absent_mask),
        _example_indices(present_mask),
        decreasing=True,
        func=func,
    )
    if weight is None:
        weight = torch.ones(present.shape[0], absent.shape[0])

    return _inter_distance(distance, present, absent, _weight_like(weight, vals))


def intra_example(vals, trues, corrs, distance: str, *, func: str = "identity") -> torch.Tensor:
    """Intra-group loss of one example.

    Transcribes ``SemEval2018Task1EcTrainer._intra_correlation`` in
    ``emorec/emorec_utils/trainer.py`` of gchochla/Demux-MEmo (l.368-422).

    * starts from ``tensor(0.0)`` (l.379);
    * absent group (if any, l.384-397): raw values (no sigmoid), weight
      ``Correlations.get((absent, absent), decreasing=False)`` = ``corr + 1e-5``
      squeezed (0-D for one label), or ``ones(K, K)`` when weighting is off;
    * present group (if any, l.399-417): the *negated* values ``-present``
      (l.414-417), same weighting rule;
    * divided by 2 only when both groups are non-empty (l.419-420).
    With ``exp_diff`` a group of one label adds the constant ``1 * weight``
    (its only entry is masked, then ``exp(0)``).
    """
    absent_mask = trues < 0.5
    present_mask = trues >= 0.5
    has_absent = bool(absent_mask.any())
    has_present = bool(present_mask.any())

    loss = torch.tensor(0.0, device=vals.device)

    if has_absent:
        absent = vals[absent_mask]
        idx = _example_indices(absent_mask)
        weight = pair_weight(corrs, idx, idx, decreasing=False, func=func)
        if weight is None:
            weight = torch.ones(absent.shape[0], absent.shape[0])
        loss = loss + _intra_distance(distance, absent, _weight_like(weight, vals))

    if has_present:
        present = vals[present_mask]
        idx = _example_indices(present_mask)
        weight = pair_weight(corrs, idx, idx, decreasing=False, func=func)
        if weight is None:
            weight = torch.ones(present.shape[0], present.shape[0])
        loss = loss + _intra_distance(distance, -present, _weight_like(weight, vals))

    if has_present and has_absent:
        loss = loss / 2

    return loss


def complete_example(vals, trues, corrs, distance: str, *, func: str = "identity") -> torch.Tensor:
    """Inter + intra loss of one example.

    Transcribes ``SemEval2018Task1EcTrainer._complete_correlation`` in
    ``emorec/emorec_utils/trainer.py`` of gchochla/Demux-MEmo (l.424-438):
    ``(inter + intra) / 2``, except that when ``inter == 0`` (always the case
    when a group is empty, l.347-348) the intra loss is returned undivided
    (l.435-436).
    """
    inter = inter_example(vals, trues, corrs, distance, func=func)
    intra = intra_example(vals, trues, corrs, distance, func=func)
    if inter == 0:
        return intra
    return (inter + intra) / 2


_LOCAL_KINDS = {
    "inter": inter_example,
    "intra": intra_example,
    "complete": complete_example,
}


def local_batch(
    kind: str, vals, trues, corrs, distance: str, *, func: str = "identity"
) -> torch.Tensor:
    """Batch local loss: mean over examples of the per-example loss.

    Transcribes the loop of ``SemEval2018Task1EcTrainer.
    calculate_regularization_loss`` in ``emorec/emorec_utils/trainer.py`` of
    gchochla/Demux-MEmo (l.497-502): ``torch.stack`` of one loss per example
    (zip over the batch dimension), then ``.mean()``. Examples that contribute
    a constant 0 still count in the mean.
    """
    example_loss = _LOCAL_KINDS[kind]
    per_example = [
        example_loss(v, t, corrs, distance, func=func) for v, t in zip(vals, trues, strict=False)
    ]
    return torch.stack(per_example).mean()


# ---------------------------------------------------------------------------
# Global loss (emorec/models/demux/trainer.py)
# ---------------------------------------------------------------------------


def global_loss(kind: str, reprs, corrs) -> torch.Tensor:
    """Global (batch) correlation loss on the emotion representations.

    Transcribes ``DemuxTrainerMixin._global_distances`` in
    ``emorec/models/demux/trainer.py`` of gchochla/Demux-MEmo (l.57-74).
    ``reprs``: ``[B, N, D]``; ``corrs``: the ``[N, N]`` weights as the original
    passes them, i.e. already through ``Correlations.get(..., decreasing=False)``
    (``corr + 1e-5``, squeezed; raw correlations for ``cossim``, normalised for
    ``sq_diff``, l.54).

    * ``cossim`` (l.58-68): ``cosine_similarity`` of ``reprs.unsqueeze(-1)``
      ``[B, N, D, 1]`` and ``reprs.unsqueeze(1).transpose(2, 3)``
      ``[B, 1, D, N]`` along dim 2 -> ``[B, N, N]``, minus ``corrs``, then
      ``triu(diagonal=1)``, squared, mean over all ``B * N * N`` entries;
    * ``sq_diff`` (l.69-73): Euclidean distance ``||r_i - r_j||`` ``[B, N, N]``,
      ``triu(diagonal=1)``, times ``corrs``, mean over all entries.
    """
    if kind == "cossim":
        rows = reprs.unsqueeze(-1)  # [B, N, D, 1]
        cols = reprs.unsqueeze(1).transpose(2, 3)  # [B, 1, D, N]
        sims = F.cosine_similarity(rows, cols, dim=2)  # [B, N, N]
        return (sims - _weight_like(corrs, reprs)).triu(diagonal=1).square().mean()
    if kind == "sq_diff":
        dists = (reprs.unsqueeze(2) - reprs.unsqueeze(1)).norm(dim=-1)  # [B, N, N]
        return dists.triu(diagonal=1).mul(_weight_like(corrs, reprs)).mean()
    raise KeyError(kind)


# ---------------------------------------------------------------------------
# Whole training loss
# ---------------------------------------------------------------------------


def total_loss(
    logits,
    labels,
    reprs,
    *,
    local_kind=None,
    local_coef=None,
    local_corrs=None,
    distance="exp_diff",
    global_kind=None,
    global_coef=None,
    global_corrs=None,
) -> torch.Tensor:
    """Training loss of one batch as the original Demux trainer computes it.

    Transcribes ``BaseTrainer.calculate_loss`` (``emorec/trainer.py``
    l.326-341: cls loss + regularisation loss), with
    ``SemEval2018Task1EcTrainer.calculate_cls_loss`` and
    ``.calculate_regularization_loss`` (``emorec/emorec_utils/trainer.py``
    l.440-507) and ``DemuxTrainerMixin.calculate_regularization_loss``
    (``emorec/models/demux/trainer.py`` l.76-104), repo gchochla/Demux-MEmo:

    * BCE-with-logits, mean reduction (the conditional weights are ones when
      unfitted), scaled by ``1 - local_coef`` when ``local_coef`` is truthy
      (l.454-456);
    * local term only when ``local_coef`` is truthy (l.481): the values are the
      logits for ``exp_diff`` and ``reprs`` otherwise; with ``reprs=None`` the
      logits are used and the distance is forced to ``exp_diff``
      (l.486-495); ``loss = 0 + local_coef * local_batch(...)`` (l.479,
      l.503-505). ``local_corrs`` is the (normalised) ``[N, N]`` correlation
      matrix or ``None`` (weighting off -> ones);
    * global term only when ``global_coef`` is truthy (l.93):
      ``global_coef * global_loss(kind, reprs, w)`` with
      ``w = Correlations.get((all, all), decreasing=False)`` of
      ``global_corrs`` (raw for ``cossim``, normalised for ``sq_diff``);
    * total = ``bce + (local + global)`` in that association order.

    ``local_kind=None`` / ``global_kind=None`` fall back to the original's
    defaults (``inter`` from ``"inter_exp_diff"``; ``cossim``).
    """
    bce = F.binary_cross_entropy_with_logits(logits, labels)
    if local_coef:
        bce = (1 - local_coef) * bce

    regularization = torch.tensor(0.0, device=logits.device)

    if local_coef:
        kind = local_kind if local_kind is not None else "inter"
        if reprs is not None:
            vals = logits if distance == "exp_diff" else reprs
        else:
            vals = logits
            distance = "exp_diff"
        local = local_batch(kind, vals, labels, local_corrs, distance)
        regularization = regularization + local_coef * local

    if global_coef:
        kind = global_kind if global_kind is not None else "cossim"
        if global_corrs is None:
            raise ValueError("the original always has global correlations when global_coef is set")
        every = list(range(labels.shape[-1]))
        weights = pair_weight(global_corrs, every, every, decreasing=False)
        regularization = regularization + global_coef * global_loss(kind, reprs, weights)

    return bce + regularization


# ---------------------------------------------------------------------------
# Self-check
# ---------------------------------------------------------------------------


if __name__ == "__main__":
    torch.manual_seed(0)
    emotions = ["anger", "anticipation", "disgust", "fear", "joy"]
    n_emotions, dim = len(emotions), 3

    train_labels = np.array(
        [
            [1, 0, 1, 0, 0],
            [0, 1, 0, 0, 1],
            [1, 0, 0, 1, 0],
            [0, 0, 1, 1, 0],
            [0, 1, 0, 0, 1],
            [1, 1, 0, 0, 0],
            [0, 0, 0, 1, 1],
        ]
    )
    data_corrs = correlations(train_labels, emotions, normalize=True)
    prior_corrs = correlations(None, emotions, normalize=True)
    raw_prior = correlations(None, emotions, normalize=False)
    print("data corrs (normalised):\n", data_corrs)
    print("prior corrs (normalised):\n", prior_corrs)
    assert data_corrs.dtype == prior_corrs.dtype == torch.float64

    # Rows: none present, all present, single label, single absent, mixed.
    labels = torch.tensor(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 1.0, 1.0],
            [0.0, 1.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 0.0, 1.0, 1.0],
            [1.0, 0.0, 1.0, 0.0, 0.0],
        ]
    )
    neutral = torch.zeros(3, n_emotions)
    logits0 = torch.linspace(-2.0, 2.0, labels.numel()).reshape(labels.shape)
    reprs0 = torch.sin(torch.arange(labels.numel() * dim, dtype=torch.float32)).reshape(
        labels.shape[0], n_emotions, dim
    )

    # pair_weight layout / squeeze / epsilon.
    w = pair_weight(data_corrs, [0, 2], [1, 3, 4], decreasing=True)
    print("pair_weight [3, 2]:", w.shape, w.dtype)
    assert w.shape == (3, 2)
    assert torch.allclose(w[1, 0], 1 - (data_corrs[0, 3] + EPSILON))
    assert pair_weight(data_corrs, [2], [1, 3], decreasing=False).shape == (2,)
    assert pair_weight(data_corrs, [2], [2], decreasing=False).shape == ()
    assert pair_weight(None, [0], [1], decreasing=False) is None
    assert pair_weight(data_corrs, [], [1], decreasing=False) is None

    # Single absent label: weight squeezes to [P] and broadcasts to [P, P].
    row = labels[3]
    got = inter_example(logits0[3], row, data_corrs, "exp_diff")
    present = logits0[3][row >= 0.5].sigmoid()
    absent = logits0[3][row < 0.5].sigmoid()
    weight = pair_weight(data_corrs, [2], [0, 1, 3, 4], decreasing=True).float()
    expected = (absent - present).exp().mean() * weight.mean()
    assert torch.allclose(got, expected), (got, expected)

    # Single-label intra with exp_diff: masked entry gives exp(0) * weight.
    single = intra_example(logits0[2], labels[2], None, "exp_diff")
    print("intra single-label row (ones):", single.item())

    for corrs_name, corrs in [("ones", None), ("data", data_corrs), ("prior", prior_corrs)]:
        for kind in ["inter", "intra", "complete"]:
            for distance, values in [("exp_diff", logits0), ("cossim", reprs0)]:
                per_row = [
                    _LOCAL_KINDS[kind](v, t, corrs, distance).item()
                    for v, t in zip(values, labels, strict=False)
                ]
                batch = local_batch(kind, values, labels, corrs, distance)
                calm = local_batch(kind, values[:3], neutral, corrs, distance)
                print(
                    f"{corrs_name:5s} {kind:8s} {distance:8s} rows={[f'{x:.5f}' for x in per_row]}"
                    f" batch={batch.item():.6f} neutral={calm.item():.6f}"
                )

    for kind, corrs in [("cossim", raw_prior), ("sq_diff", prior_corrs)]:
        every = list(range(n_emotions))
        g = global_loss(kind, reprs0, pair_weight(corrs, every, every, decreasing=False))
        print(f"global {kind}: {g.item():.6f}")

    configs = [
        dict(),
        dict(local_kind="inter", local_coef=0.2, local_corrs=None, distance="exp_diff"),
        dict(local_kind="intra", local_coef=0.3, local_corrs=data_corrs, distance="exp_diff"),
        dict(local_kind="complete", local_coef=0.4, local_corrs=prior_corrs, distance="cossim"),
        dict(
            local_kind="inter",
            local_coef=0.2,
            local_corrs=data_corrs,
            distance="cossim",
            global_kind="cossim",
            global_coef=0.1,
            global_corrs=raw_prior,
        ),
        dict(
            local_kind="complete",
            local_coef=0.5,
            local_corrs=data_corrs,
            distance="exp_diff",
            global_kind="sq_diff",
            global_coef=0.1,
            global_corrs=data_corrs,
        ),
    ]
    for batch_labels in (labels, neutral):
        for config in configs:
            logits = logits0[: len(batch_labels)].clone().requires_grad_(True)
            reprs = reprs0[: len(batch_labels)].clone().requires_grad_(True)
            loss = total_loss(logits, batch_labels, reprs, **config)
            loss.backward()
            grads = [t.grad for t in (logits, reprs) if t.grad is not None]
            finite = all(bool(torch.isfinite(g).all()) for g in grads)
            shown = {k: v for k, v in config.items() if not torch.is_tensor(v)}
            print(
                f"total {'neutral' if batch_labels is neutral else 'mixed  '} {shown}: "
                f"{loss.item():.6f} ({loss.dtype}) grads finite={finite}"
            )
            assert torch.isfinite(loss) and finite

    print("self-check done")
