"""The likelihood-ratio attack (LiRA) of Carlini et al. over reference models."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import aligned_proba, row_keys
from ._shadow_training import BaseShadowModelAttack
from ._signals import true_class_logit

__all__ = ["LikelihoodRatioAttack"]

_MIN_STD = 1e-3
_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _masked_stats(scores, mask):
    """Per-column count, mean and std of ``scores`` where ``mask`` is true."""
    weight = mask.astype(np.float64)
    count = weight.sum(axis=0)
    safe = np.maximum(count, 1)
    mean = (scores * weight).sum(axis=0) / safe
    var = (((scores - mean) ** 2) * weight).sum(axis=0) / safe
    return count, mean, np.sqrt(var)


def _masked_median(scores, mask):
    """Per-column median of ``scores`` where ``mask`` is true (nan where nothing is)."""
    masked = np.where(mask, scores, np.nan)
    out = np.full(scores.shape[1], np.nan)
    some = mask.any(axis=0)
    out[some] = np.nanmedian(masked[:, some], axis=0)
    return out


def _bin_of(edges, values):
    """Index of the bin of ``edges`` (first and last infinite) each value falls in."""
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


#: The offline tests, in the order "auto" prefers them on equal pool AUC.
_OFFLINE_TESTS = ("learned-in", "learned-in-shared", "one-sided")
_LEARNED = ("learned-in", "learned-in-shared")


def _mean_model_auc(raw, membership, n_models):
    """Mean ROC AUC over the equal blocks of ``raw`` (one per reference model)."""
    aucs = []
    for scores, labels in zip(np.split(raw, n_models), np.split(membership, n_models), strict=True):
        if 0 < labels.sum() < len(labels):
            aucs.append(roc_auc_score(labels, scores))
    return float(np.mean(aucs)) if aucs else 0.5


def _log_normal(x, mean, std):
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - _LOG_SQRT_2PI


class LikelihoodRatioAttack(BaseShadowModelAttack):
    """Likelihood-ratio membership attack (LiRA) over reference models.

    Reference models are trained like the target, each on a random subset of the
    attacker's rows. For a queried ``(x, y)`` the attack measures the target's logit-scaled
    confidence in ``y``, ``log p_y - log(1 - p_y)`` (computed without saturating), and
    compares it with the same statistic of the reference models that did not train on
    ``x`` (*offline*: a one-sided test against their per-example Gaussian, reported as a
    z-score) or of both those that did and did not (*online*: the log-likelihood ratio of
    two per-example Gaussians). Per-example thresholds make it far stronger than a global
    one at low false-positive rates (Carlini et al., 2022).

    Online LiRA needs reference models that trained on the queried rows: pass the
    candidate rows together with the attacker's data to ``fit`` (the pool that reference
    models sample from); queried rows are recognised by value (arrays and DataFrames alike)
    and rows outside the pool get the in-distribution shifted from their out-distribution
    by the pool's median in/out gap.

    Offline (default), the attack is a likelihood ratio too: no reference model trained on a
    queried row, but every pool row is in about half of them, so the pool shows how far
    training on a row moves its statistic as a function of where the row's out-statistic
    lies (hard rows move far, easy rows hardly at all). With ``offline_method="learned-in"``
    that relation, fitted on the pool (a monotone curve for the in-out gap, its direction
    read from the data, and the in and out deviations pooled per decile of the out-mean),
    gives each queried row an in-Gaussian beside its out-Gaussian, and the score is their
    log-likelihood ratio, as online; for neural networks it is far stronger at low
    false-positive rates than the one-sided test (the user guide's benchmark table gives
    both). ``offline_method="one-sided"`` is the LiRA paper's offline test: the target's
    statistic against the reference models' on the same row, one-sided, over one global
    standard deviation (``fixed_variance``) or the row's own. ``"learned-in-shared"`` gives
    the two learned Gaussians one deviation, so that the score grows with the row's
    statistic, which holds up better where training moves rows little (models that hardly
    memorise). The default ``"auto"`` keeps whichever of the three ranks the attacker's own
    rows best, each reference model in turn playing the target: models with saturated,
    discrete confidences (forests) can favour the one-sided test.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``, default=None
        The model under attack; kept as it is by ``clone``.
    n_shadow_models : int, default=16
        Number of reference models.
    shadow_estimator : classifier, default=None
        Template of the reference models; ``None`` clones the target.
    shadow_size : int, default=None
        Training rows of each reference model. ``None``: the target's training size where
        skfedmia recorded it at ``fit``, else half the rows given to ``fit``; capped at half
        those rows, so that every row is in at most about half of the models.
    online : bool, default=False
        Use the in-distribution too (online LiRA).
    offline_method : {"auto", "learned-in", "learned-in-shared", "one-sided"}, \
            default="auto"
        Offline test: ``"learned-in"``, the log-likelihood ratio against an in-Gaussian
        predicted from the row's out-mean by the relation fitted on the pool (falls back
        on ``"one-sided"`` when no pool row is both in and out of some reference model,
        e.g. with one reference model); ``"learned-in-shared"``, the same with one
        deviation shared by the in and out Gaussians (per bin of the out-mean), so that the
        score is monotone in the row's statistic; ``"one-sided"``, the LiRA paper's
        one-sided test against the out-Gaussian alone; ``"auto"``, whichever of the three
        ranks the pool's rows best (highest mean ROC AUC with each reference model in turn
        as the target: the attacker's own rows, never the queried ones). Ignored online.
    fixed_variance : bool, default=True
        Use one standard deviation for all examples instead of each example's own, which
        is noisy with few reference models; Carlini et al. recommend it below about 64
        models. Online, the median of the per-example deviations; offline one-sided, the
        example's out-mean is the median of its reference statistics (as in the paper's
        code) and the deviation the global one of all out-statistics; offline
        ``"learned-in"``, the deviations pooled per decile of the out-mean.
    operating_point : "balanced" or float, default="balanced"
        Where ``predict`` decides, calibrated on the pool with each reference model in
        turn playing the target: ``"balanced"``, the threshold of highest balanced
        accuracy; a float such as ``0.01``, the threshold at that false-positive rate.
    n_jobs : int, default=None
        Reference models trained in parallel through joblib (``joblib.parallel_backend``
        reaches a Dask cluster).
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        ``> 0`` shows a progress bar over reference models.

    Attributes
    ----------
    shadow_estimators_ : list
        The fitted reference models.
    shadow_size_ : int
        Training rows of each reference model.
    shadow_in_mask_ : ndarray of shape (n_shadow_models, n_samples)
        ``shadow_in_mask_[k, i]``: row ``i`` of the pool was in model ``k``'s training set.
    shadow_indices_ : list of tuple (ndarray, ndarray)
        Each model's in and out row indices (from ``shadow_in_mask_``).
    shadow_labels_seen_ : ndarray of shape (n_shadow_models, n_target_classes)
        ``shadow_labels_seen_[k, j]``: model ``k`` trained on rows of the target's label ``j``.
    shadow_out_mask_ : ndarray of shape (n_shadow_models, n_samples)
        Pool rows each model stands as an out-model for: not in its training set, and of
        a label it trained on (a model that never saw a label cannot show how training on
        a row of it changes a model).
    pool_scores_ : ndarray of shape (n_shadow_models, n_samples)
        Logit-scaled confidence of every reference model on every pool row.
    std_in_, std_out_ : float
        Global standard deviations of the in and out statistics.
    global_mean_out_, global_std_out_ : float
        Mean and standard deviation of all out-statistics of the pool (the mean stands in
        for rows of a label no reference model trained on; the deviation is the offline
        test's fixed variance).
    in_out_gap_ : float
        Median gap between the in and out means over pool rows.
    offline_method_ : str
        The offline test used.
    offline_method_auc_ : dict
        With ``offline_method="auto"``: the mean ROC AUC on the pool of each offline test
        tried (empty when there was no choice).
    gap_model_ : IsotonicRegression or None
        In-out gap of a row as a monotone function of its out-mean (``"learned-in"``).
    bin_edges_ : ndarray or None
        Edges of the out-mean bins over which the deviations are pooled.
    bin_std_in_, bin_std_out_ : ndarray or None
        Pooled in and out deviations per bin.
    threshold_ : float
        Decision threshold on the raw score, chosen on leave-one-model-out scores of the
        pool (each reference model in turn playing the target).
    target_classes_ : ndarray
    classes_ : ndarray of shape (2,)
    slope_ : float

    See Also
    --------
    MembershipInferenceAttack : the shadow-model attack with a learned attack model.
    RelativeMembershipInferenceAttack : RMIA, strong with few reference models.
    ThresholdAttack : one global threshold.

    References
    ----------
    .. [1] N. Carlini, S. Chien, M. Nasr, S. Song, A. Terzis and F. Tramèr, "Membership
       Inference Attacks From First Principles", IEEE S&P 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skfedmia.attacks.membership import LikelihoodRatioAttack
    >>> X, y = load_digits(return_X_y=True)
    >>> target = RandomForestClassifier(n_estimators=20, random_state=0).fit(X[:400], y[:400])
    >>> attack = LikelihoodRatioAttack(target, n_shadow_models=4, random_state=0)
    >>> _ = attack.fit(X[800:], y[800:])
    >>> membership = [1] * 400 + [0] * 400
    >>> bool(attack.report(X[:800], y[:800], membership).roc_auc > 0.6)
    True
    """

    _parameter_constraints: dict = {
        **BaseShadowModelAttack._parameter_constraints,
        "online": ["boolean"],
        "offline_method": [StrOptions({"auto", *_OFFLINE_TESTS})],
        "fixed_variance": ["boolean"],
    }

    _split = "subsets"
    _models_name = "reference models"

    def __init__(
        self,
        target=None,
        *,
        n_shadow_models=16,
        shadow_estimator=None,
        shadow_size=None,
        online=False,
        offline_method="auto",
        fixed_variance=True,
        operating_point="balanced",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.target = target
        self.n_shadow_models = n_shadow_models
        self.shadow_estimator = shadow_estimator
        self.shadow_size = shadow_size
        self.online = online
        self.offline_method = offline_method
        self.fixed_variance = fixed_variance
        self.operating_point = operating_point
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _basis_details(self):
        if self.online:
            return ["online test (in- and out-Gaussians per row)"]
        return [f"offline test {self.offline_method_!r}"]

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, label_index):
        if self.online and self.n_shadow_models < 2:
            raise ValueError("online LiRA needs n_shadow_models >= 2 (in and out models).")
        keys = row_keys(X, y)
        if self.online and keys is None:
            raise ValueError(
                "online LiRA recognises queried rows in its pool by value, but the rows of "
                f"`X` ({type(X).__name__}) cannot be keyed row by row: pass a numeric array "
                "or a DataFrame, or use online=False."
            )
        super()._fit(X, y, label_index)
        self._set_pool_index(keys)

    @classmethod
    def _from_references(cls, target, references, in_mask, X, y, *, pool_keys=None, **params):
        # as fit: queried rows found in the pool get its in-mask
        if params.get("online") and len(references) < 2:
            raise ValueError("online LiRA needs at least 2 reference models (in and out).")
        attack = super()._from_references(target, references, in_mask, X, y, **params)
        attack._set_pool_index(row_keys(X, y) if pool_keys is None else pool_keys)
        return attack

    def _fit_attack(self, X, y, label_index, seeds):
        self.pool_scores_ = self._model_signals(X, label_index)
        scores, inside = self.pool_scores_, self.shadow_in_mask_
        # a reference model stands for "trained without the row" only if it trained on
        # the row's label at all
        self.shadow_out_mask_ = ~inside & self.shadow_labels_seen_[:, label_index]
        outside = self.shadow_out_mask_
        count_in, mean_in, std_in = _masked_stats(scores, inside)
        count_out, mean_out, std_out = _masked_stats(scores, outside)
        both = (count_in >= 1) & (count_out >= 1)
        self.in_out_gap_ = float(np.median((mean_in - mean_out)[both])) if both.any() else 0.0
        self.std_in_ = float(np.median(std_in[count_in >= 2])) if (count_in >= 2).any() else 1.0
        self.std_out_ = float(np.median(std_out[count_out >= 2])) if (count_out >= 2).any() else 1.0
        self.std_in_ = max(self.std_in_, _MIN_STD)
        self.std_out_ = max(self.std_out_, _MIN_STD)
        out_values = scores[outside]
        self.global_mean_out_ = float(np.mean(out_values)) if out_values.size else 0.0
        self.global_std_out_ = max(float(np.std(out_values)) if out_values.size else 1.0, _MIN_STD)
        self._fit_in_model(scores, inside, outside, count_in, mean_in, count_out, mean_out)
        self.threshold_ = 0.0
        raw, membership = self._leave_one_model_out()
        self.offline_method_auc_ = {}
        if (
            self.offline_method == "auto"
            and not self.online
            and self.offline_method_ == "learned-in"
        ):
            # the test that ranks the pool's rows best, each reference model in turn
            # playing the target: the learned in-Gaussian is far stronger where training
            # moves a row's statistic smoothly and far (neural networks that memorise);
            # one deviation shared by the in and out Gaussians keeps the score monotone in
            # the row's statistic where the signal is weak; with saturated or discrete
            # confidences (forests) the one-sided test can be best
            raws = {}
            for test in _OFFLINE_TESTS:
                self.offline_method_ = test
                raws[test] = raw if test == "learned-in" else self._leave_one_model_out()[0]
                self.offline_method_auc_[test] = _mean_model_auc(
                    raws[test], membership, len(inside)
                )
            aucs = self.offline_method_auc_
            self.offline_method_ = max(
                _OFFLINE_TESTS, key=lambda t: (aucs[t], -_OFFLINE_TESTS.index(t))
            )
            raw = raws[self.offline_method_]
        self._set_operating_point(raw, membership)

    def _fit_in_model(self, scores, inside, outside, count_in, mean_in, count_out, mean_out):
        """How training on a row moves its statistic, as a function of its out-mean.

        Fitted on the pool rows that are in some reference models and out of others: a
        monotone (isotonic) curve for the in-out gap, and the in and out deviations pooled
        (with each row's own mean removed) within quantile bins of the out-mean.
        """
        self.gap_model_ = self.bin_edges_ = self.bin_std_in_ = self.bin_std_out_ = None
        both = (count_in >= 1) & (count_out >= 1)
        self.offline_method_ = (
            "learned-in" if self.offline_method == "auto" else self.offline_method
        )
        if self.online or self.offline_method_ not in _LEARNED:
            return
        if both.sum() < 2:
            self.offline_method_ = "one-sided"
            return
        # usually decreasing (hard rows move most); its direction is read from the data
        gap = (mean_in - mean_out)[both]
        with np.errstate(invalid="ignore"):
            rho = spearmanr(mean_out[both], gap).statistic if gap.std() > 0 else -1.0
        self.gap_model_ = IsotonicRegression(increasing=bool(rho > 0), out_of_bounds="clip").fit(
            mean_out[both], gap
        )
        n_bins = int(np.clip(both.sum() // 100, 1, 10))
        edges = np.quantile(mean_out[both], np.linspace(0, 1, n_bins + 1))
        edges[0], edges[-1] = -np.inf, np.inf
        row_bin = _bin_of(edges, mean_out)
        sq_in = ((scores - mean_in) ** 2 * inside).sum(axis=0)
        sq_out = ((scores - mean_out) ** 2 * outside).sum(axis=0)
        std_in, std_out = np.empty(n_bins), np.empty(n_bins)
        for b in range(n_bins):
            rows = both & (row_bin == b)
            dof_in = np.maximum(count_in[rows] - 1, 0).sum()
            dof_out = np.maximum(count_out[rows] - 1, 0).sum()
            std_in[b] = np.sqrt(sq_in[rows].sum() / dof_in) if dof_in else self.std_in_
            std_out[b] = np.sqrt(sq_out[rows].sum() / dof_out) if dof_out else self.std_out_
        self.bin_edges_ = edges
        self.bin_std_in_ = np.maximum(std_in, _MIN_STD)
        self.bin_std_out_ = np.maximum(std_out, _MIN_STD)

    # ------------------------------------------------------------------ scoring
    def _gaussians(self, ref_scores, in_mask, out_mask):
        """Per-row (mean, std) of the in and out statistics from the reference scores."""
        count_out, mean_out, std_out = self._out_stats(ref_scores, in_mask, out_mask)
        count_in, mean_in, std_in = _masked_stats(ref_scores, in_mask)
        mean_in = np.where(count_in >= 1, mean_in, mean_out + self.in_out_gap_)
        if self.fixed_variance:
            std_in = np.full_like(mean_in, self.std_in_)
            std_out = np.full_like(mean_out, self.std_out_)
            if not self.online:
                # the paper's offline test with few models: the out-median over one
                # global deviation
                median_out = _masked_median(ref_scores, out_mask)
                mean_out = np.where(np.isnan(median_out), mean_out, median_out)
                std_out = np.full_like(mean_out, self.global_std_out_)
        else:
            std_in = np.where(count_in >= 2, np.maximum(std_in, _MIN_STD), self.std_in_)
            std_out = np.where(count_out >= 2, np.maximum(std_out, _MIN_STD), self.std_out_)
        return mean_in, std_in, mean_out, std_out

    def _out_stats(self, ref_scores, in_mask, out_mask):
        """Per-row count, mean and std of the out-statistics.

        A row that no reference model left out (only a pool row can be) gets its in-mean
        shifted down by the pool's median in/out gap; a row of a label that no reference
        model trained on, the mean of all out-statistics of the pool.
        """
        count_out, mean_out, std_out = _masked_stats(ref_scores, out_mask)
        if count_out.min() < 1:
            count_in, mean_in, _ = _masked_stats(ref_scores, in_mask)
            fallback = np.where(count_in >= 1, mean_in - self.in_out_gap_, self.global_mean_out_)
            mean_out = np.where(count_out >= 1, mean_out, fallback)
        return count_out, mean_out, std_out

    def _learned_in_score(self, observed, ref_scores, in_mask, out_mask):
        """Offline log-likelihood ratio with the in-Gaussian predicted from the out-mean."""
        _, mean_out, _ = self._out_stats(ref_scores, in_mask, out_mask)
        row_bin = _bin_of(self.bin_edges_, mean_out)
        mean_in = mean_out + self.gap_model_.predict(mean_out)
        std_in, std_out = self.bin_std_in_[row_bin], self.bin_std_out_[row_bin]
        if self.offline_method_ == "learned-in-shared":
            # one deviation for both Gaussians: the ratio is then linear, hence monotone, in
            # the row's statistic
            std_in = std_out = np.sqrt((std_in**2 + std_out**2) / 2)
        return _log_normal(observed, mean_in, std_in) - _log_normal(observed, mean_out, std_out)

    def _raw_score(self, observed, ref_scores, in_mask, out_mask):
        if not self.online and self.offline_method_ in _LEARNED:
            return self._learned_in_score(observed, ref_scores, in_mask, out_mask)
        mean_in, std_in, mean_out, std_out = self._gaussians(ref_scores, in_mask, out_mask)
        if self.online:
            return _log_normal(observed, mean_in, std_in) - _log_normal(observed, mean_out, std_out)
        return (observed - mean_out) / std_out

    def _leave_one_model_out(self):
        """Raw scores of pool rows with each reference model in turn as the target."""
        scores, inside, outside = self.pool_scores_, self.shadow_in_mask_, self.shadow_out_mask_
        k = len(scores)
        raws, labels = [], []
        for j in range(k):
            others = np.arange(k) != j
            if k == 1:  # nothing to compare with: the global statistics stand in
                raw = scores[j] - np.median(scores[j])
            else:
                raw = self._raw_score(scores[j], scores[others], inside[others], outside[others])
            raws.append(raw)
            labels.append(inside[j].astype(np.int64))
        return np.concatenate(raws), np.concatenate(labels)

    def _decision(self, X, y, label_index):
        check_is_fitted(self, "pool_scores_")
        observed = true_class_logit(
            aligned_proba(self.target, X, self.target_classes_), label_index
        )
        ref_scores = self._model_signals(X, label_index)
        in_mask = self._pool_in_mask(X, y)
        out_mask = ~in_mask & self.shadow_labels_seen_[:, label_index]
        raw = self._raw_score(observed, ref_scores, in_mask, out_mask)
        return raw - self.threshold_
