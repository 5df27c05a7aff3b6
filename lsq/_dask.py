"""Dask back end of :func:`lsq.curve_fit_batch`: the batch kernel mapped over blocks of fits.

Each block of rows of ``Y`` is fitted by the numpy path on whichever worker holds it, so the same call runs
on a threaded scheduler or a ``distributed`` cluster. Models travel by pickle (compiled kernels are rebuilt,
from the on-disk cache, on each worker).
"""

import numpy as np


def curve_fit_batch_dask(model, x, Y, p0, sigma, compute=False, **kw):
    """Dask version of :func:`lsq.curve_fit_batch` (same arguments); returns a :class:`lsq.BatchResult`."""
    import dask.array as da

    from .batch import BatchResult, curve_fit_batch

    if Y.ndim != 2:
        raise ValueError(f"`Y` must have shape (k, m): one data set per row; got {Y.shape}.")
    k, m = Y.shape
    n = model.n_params
    Y = Y.rechunk({1: -1}).astype(float)
    rows = Y.chunks[0]

    def per_fit(a):
        """Per-fit arrays (k rows) become 2-D dask arrays aligned with Y's blocks; shared ones stay numpy."""
        if a is None:
            return None
        if not hasattr(a, "chunks"):
            a = np.asarray(a, dtype=float)
            if a.ndim < 2 or a.shape[0] != k:
                return None
            a = da.from_array(a)
        return a.reshape(k, -1).rechunk((rows, -1))

    x_arr = x if hasattr(x, "chunks") else np.asarray(x, dtype=float)
    x_per_fit = x_arr.ndim == 3 or (x_arr.ndim == 2 and (model.x_ndim or 1) == 1 and x_arr.shape[0] == k)
    if hasattr(x_arr, "chunks") and not x_per_fit:
        x_arr = np.asarray(x_arr.compute(), dtype=float)
    x_shape = x_arr.shape[1:]
    given = {"x": per_fit(x_arr) if x_per_fit else None, "p0": per_fit(p0), "sigma": per_fit(sigma)}
    names = [name for name, a in given.items() if a is not None]
    shared = {"x": x_arr, "p0": p0, "sigma": sigma}

    def fit_block(y_block, *arrays):
        args = {**shared, **dict(zip(names, arrays, strict=True))}
        if "x" in names:
            args["x"] = args["x"].reshape((-1,) + x_shape)
        r = curve_fit_batch(model, args["x"], y_block, p0=args["p0"], sigma=args["sigma"], **kw)
        return np.concatenate([r.params, r.stderr, r.cost[:, None], r.nit[:, None], r.nfev[:, None],
                               r.status[:, None]], axis=1)

    out = da.map_blocks(fit_block, Y, *[given[name] for name in names], dtype=float, chunks=(rows, (2 * n + 4,)))
    parts = (out[:, :n], out[:, n:2 * n], out[:, 2 * n], out[:, 2 * n + 1].astype(np.int64),
             out[:, 2 * n + 2].astype(np.int64), out[:, 2 * n + 3].astype(np.int64))
    if compute:
        import dask

        parts = dask.compute(*parts)
    params, stderr, cost, nit, nfev, status = parts
    return BatchResult(params, stderr, cost, nit, nfev, status, status > 0, model.param_names)
