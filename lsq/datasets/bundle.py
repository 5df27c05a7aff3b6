"""A synthetic bundle-adjustment problem in the BAL format (Agarwal et al., "Bundle Adjustment in the Large").

Each camera has 9 parameters (Rodrigues rotation vector, translation, focal length, radial distortion k1,
k2); each 3-D point has 3. A point ``X`` seen by a camera projects to ``f * (1 + k1 r^2 + k2 r^4) * p`` with
``p = -P[:2] / P[2]``, ``P = R X + t``, ``r = |p|``. The residuals are projections minus observations (two
per observation), ordered camera parameters first, then points, so ``schur=(9 * n_cameras, 3)`` eliminates
the points.
"""

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._setup.jit import jit


def rotate(points, rot_vecs):
    """Rotate ``points`` (k, 3) by the Rodrigues vectors ``rot_vecs`` (k, 3)."""
    theta = np.linalg.norm(rot_vecs, axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(theta > 0, rot_vecs / theta, 0.0)
    dot = np.sum(points * v, axis=1)[:, None]
    cos, sin = np.cos(theta), np.sin(theta)
    return cos * points + sin * np.cross(v, points) + dot * (1.0 - cos) * v


def project(points, cameras):
    """BAL projection of ``points`` (k, 3) by ``cameras`` (k, 9)."""
    P = rotate(points, cameras[:, :3]) + cameras[:, 3:6]
    p = -P[:, :2] / P[:, 2, None]
    r2 = np.sum(p**2, axis=1)
    f, k1, k2 = cameras[:, 6], cameras[:, 7], cameras[:, 8]
    return (f * (1.0 + k1 * r2 + k2 * r2**2))[:, None] * p


@jit
def _residuals(x, n_cameras, camera_index, point_index, observed, out):
    for o in range(camera_index.shape[0]):
        c = 9 * camera_index[o]
        q = 9 * n_cameras + 3 * point_index[o]
        r0, r1, r2 = x[c], x[c + 1], x[c + 2]
        X0, X1, X2 = x[q], x[q + 1], x[q + 2]
        theta = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
        if theta > 0.0:
            v0, v1, v2 = r0 / theta, r1 / theta, r2 / theta
        else:
            v0 = v1 = v2 = 0.0
        cs, sn = math.cos(theta), math.sin(theta)
        dot = (X0 * v0 + X1 * v1 + X2 * v2) * (1.0 - cs)
        P0 = cs * X0 + sn * (v1 * X2 - v2 * X1) + dot * v0 + x[c + 3]
        P1 = cs * X1 + sn * (v2 * X0 - v0 * X2) + dot * v1 + x[c + 4]
        P2 = cs * X2 + sn * (v0 * X1 - v1 * X0) + dot * v2 + x[c + 5]
        p0, p1 = -P0 / P2, -P1 / P2
        rr = p0 * p0 + p1 * p1
        scale = x[c + 6] * (1.0 + x[c + 7] * rr + x[c + 8] * rr * rr)
        out[2 * o] = scale * p0 - observed[o, 0]
        out[2 * o + 1] = scale * p1 - observed[o, 1]


@dataclass
class BundleProblem:
    """A bundle-adjustment problem: ``fun(x)`` residuals, ``jac_sparsity``, start ``x0`` and truth ``x_true``.

    Attributes
    ----------
    n_cameras, n_points : int
    camera_index, point_index : ndarray of int, shape (n_obs,)
        Which camera and point each observation belongs to.
    observed : ndarray, shape (n_obs, 2)
    x0, x_true : ndarray, shape (9 * n_cameras + 3 * n_points,)
    """

    n_cameras: int
    n_points: int
    camera_index: np.ndarray
    point_index: np.ndarray
    observed: np.ndarray
    x0: np.ndarray
    x_true: np.ndarray

    @property
    def schur(self):
        """``(n_keep, block)`` for ``linear_solver='schur'``: cameras kept, points eliminated."""
        return (9 * self.n_cameras, 3)

    def fun(self, x):
        """Residuals (projection minus observation), shape ``(2 * n_obs,)``; a compiled loop."""
        out = np.empty(2 * self.camera_index.shape[0])
        _residuals(np.asarray(x, dtype=float), self.n_cameras, self.camera_index, self.point_index, self.observed,
                   out)
        return out

    def fun_numpy(self, x):
        """The same residuals with NumPy array operations (slower; a reference for :meth:`fun`)."""
        cams = x[: 9 * self.n_cameras].reshape(self.n_cameras, 9)
        pts = x[9 * self.n_cameras:].reshape(self.n_points, 3)
        proj = project(pts[self.point_index], cams[self.camera_index])
        return (proj - self.observed).ravel()

    @property
    def jac_sparsity(self):
        """CSR pattern: each residual depends on its camera's 9 and its point's 3 parameters."""
        n_obs = self.camera_index.shape[0]
        rows = np.repeat(np.arange(2 * n_obs), 12)
        cam_cols = 9 * self.camera_index[:, None] + np.arange(9)
        pt_cols = 9 * self.n_cameras + 3 * self.point_index[:, None] + np.arange(3)
        cols = np.repeat(np.hstack([cam_cols, pt_cols]), 2, axis=0).ravel()
        n = 9 * self.n_cameras + 3 * self.n_points
        return sp.csr_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(2 * n_obs, n))


def make_bundle_adjustment(n_cameras=49, n_points=7776, views=4, noise=0.5, perturb=1.0, seed=0):
    """Generate a BAL-like problem with known truth and a perturbed start.

    Points lie in a unit cube; cameras sit about 6 units away, rotated by up to 0.2 rad, with focal length
    near 500 px and small radial distortion. Every point is seen by ``views`` distinct random cameras;
    observations get Gaussian noise of ``noise`` px. The start perturbs the truth (rotations by
    ``0.01 * perturb`` rad, translations by ``0.05 * perturb``, focal by ``1% * perturb``, points by
    ``0.05 * perturb``).

    Returns
    -------
    BundleProblem
    """
    rng = np.random.default_rng(seed)
    cams = np.empty((n_cameras, 9))
    cams[:, :3] = rng.uniform(-0.2, 0.2, (n_cameras, 3))
    cams[:, 3:5] = rng.uniform(-0.5, 0.5, (n_cameras, 2))
    cams[:, 5] = -rng.uniform(5.5, 6.5, n_cameras)
    cams[:, 6] = rng.uniform(450.0, 550.0, n_cameras)
    cams[:, 7] = rng.uniform(-0.1, 0.1, n_cameras)
    cams[:, 8] = rng.uniform(-0.01, 0.01, n_cameras)
    pts = rng.uniform(-1.0, 1.0, (n_points, 3))
    camera_index = np.concatenate([rng.choice(n_cameras, views, replace=False) for _ in range(n_points)])
    point_index = np.repeat(np.arange(n_points), views)
    observed = project(pts[point_index], cams[camera_index]) + rng.normal(0.0, noise, (point_index.shape[0], 2))
    x_true = np.concatenate([cams.ravel(), pts.ravel()])
    scale = np.concatenate([np.tile([0.01, 0.01, 0.01, 0.05, 0.05, 0.05, 5.0, 0.005, 0.0005], n_cameras),
                            np.full(3 * n_points, 0.05)])
    x0 = x_true + perturb * scale * rng.standard_normal(x_true.shape[0])
    return BundleProblem(n_cameras, n_points, camera_index, point_index, observed, x0, x_true)
