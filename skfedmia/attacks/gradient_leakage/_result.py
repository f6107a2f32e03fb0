"""The records an attack rebuilt, with what it knows about them."""

from __future__ import annotations

__all__ = ["GradientReconstruction"]


class GradientReconstruction:
    """Records reconstructed from a gradient or an update.

    Parameters
    ----------
    X, y, confidence, loss, method, label_counts, restart_losses, mode_losses : object
        Stored as the attributes of the same name with a trailing underscore.
    feature_confidence : ndarray or None, default=None
        Stored as ``feature_confidence_``.
    dropout_masks : ndarray or None, default=None
        Stored as ``dropout_masks_``.

    Attributes
    ----------
    X_ : ndarray of shape (batch_size, n_features)
        Reconstructed records (0/1 under the Bernoulli prior; one-hot groups and
        continuous values in range under the mixed prior).
    y_ : ndarray of shape (batch_size,)
        Recovered (or given) labels, as class indices of the model's output layer.
    confidence_ : ndarray of shape (batch_size, n_features)
        Per-column confidence in ``[0, 1]``, from all restarts matched record to record
        with ``X_`` (so more restarts give finer confidences): for binary features the
        mean probability the restarts give to the reported bit; for a one-hot group the
        mean probability they give to the reported category (on each of its columns);
        for continuous columns of a mixed table the mean of
        ``exp(-z^2 / 2)`` with ``z`` the restart's distance to the reported value in
        quarters of the prior's standard deviation; for other continuous features
        ``1 / (1 + spread / prior_std)`` with the spread across restarts.
    feature_confidence_ : ndarray of shape (batch_size, n_fields) or None
        For mixed-type records: the confidence of every feature of the original table
        (categorical groups first, then continuous columns, as in the layout).
    loss_ : float
        Matching objective (data term plus prior term) of ``X_``.
    method_ : str
        ``"analytic"`` (closed form), ``"gradient"`` (one gradient matched) or
        ``"replay"`` (the node's local steps replayed on the dummy data).
    label_counts_ : ndarray of shape (n_classes,)
        Number of records per class.
    restart_losses_ : ndarray of shape (n_restarts,)
        Final objective of every restart.
    mode_losses_ : dict
        For updates: the replay objective of the candidate of each mode tried.
    dropout_masks_ : ndarray of shape (batch_size, n_masks) or None
        For a replayed update with dropout: the keep masks (0/1) found with every
        record, one per dropout unit and local epoch (epoch-major). ``None`` otherwise.
    defense_check_ : dict or None
        When a defense changed what the attack matches: which reconstruction was kept
        (``"kept"``: ``"modelled"`` or ``"plain"``) and how well the defense-aware and
        the plain reconstruction fit the observation (``"likelihood"``: negative
        log-likelihood under the defense without the prior, ``"direction"``: cosine
        mismatch of the simulated, defended gradient). ``None`` otherwise.
    """

    def __init__(
        self,
        X,
        y,
        confidence,
        loss,
        method,
        label_counts,
        restart_losses,
        mode_losses,
        feature_confidence=None,
        dropout_masks=None,
    ):
        self.X_ = X
        self.y_ = y
        self.confidence_ = confidence
        self.loss_ = loss
        self.method_ = method
        self.label_counts_ = label_counts
        self.restart_losses_ = restart_losses
        self.mode_losses_ = mode_losses
        self.feature_confidence_ = feature_confidence
        self.dropout_masks_ = dropout_masks
        self.defense_check_ = None

    def __repr__(self):
        return (
            f"GradientReconstruction(n_records={self.X_.shape[0]}, "
            f"method={self.method_!r}, loss={self.loss_:.4g})"
        )
