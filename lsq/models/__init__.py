"""Built-in compiled models, each with an analytic Jacobian and a data-driven ``guess(x, y)``.

=====================  =====================================================  =================================
model                  formula                                                parameters
=====================  =====================================================  =================================
``constant``           ``c``                                                  c
``linear``             ``slope * x + intercept``                              slope, intercept
``polynomial(deg)``    ``sum c_k x**k``                                       c0 ... c{deg}
``exponential``        ``amplitude * exp(-x / decay) + offset``               amplitude, decay, offset
``double_exponential`` ``a1 exp(-x/tau1) + a2 exp(-x/tau2) + offset``         a1, tau1, a2, tau2, offset
``power_law``          ``amplitude * x**exponent``                            amplitude, exponent
``gaussian``           ``amplitude * exp(-(x-center)**2 / (2 sigma**2)) + offset``  amplitude, center, sigma, offset
``lorentzian``         ``amplitude / (1 + ((x-center)/gamma)**2) + offset``   amplitude, center, gamma, offset
``voigt``              pseudo-Voigt: ``amplitude (eta L + (1-eta) G) + offset``,
                       ``L``, ``G`` of unit height and the same ``fwhm``      amplitude, center, fwhm, eta, offset
``logistic``           ``amplitude / (1 + exp(-rate (x-center))) + offset``   amplitude, center, rate, offset
``sine``               ``amplitude * sin(omega x + phase) + offset``          amplitude, omega, phase, offset
``damped_sine``        ``amplitude exp(-x/decay) sin(omega x + phase) + offset``  amplitude, decay, omega, phase, offset
``michaelis_menten``   ``vmax * x / (km + x)``                                vmax, km
``gaussian_2d``        ``amplitude exp(-((x-x0)**2 + (y-y0)**2) / (2 width**2)) + offset``, x of shape (2, m)
                                                                              amplitude, x0, y0, width, offset
=====================  =====================================================  =================================

Kernels compile on first use and are cached on disk, like the engine.
"""

from ..model import Model
from . import _curves as cu
from . import _lanes as ln
from . import _peaks as pk

__all__ = [
    "constant", "linear", "polynomial", "exponential", "double_exponential", "power_law", "gaussian",
    "lorentzian", "voigt", "logistic", "sine", "damped_sine", "michaelis_menten", "gaussian_2d", "BUILTIN",
]


def _builtin(name, params, f, j, g, x_ndim=1, baseline="offset", background=False, lanes=None):
    return Model(name=name, param_names=params, kernels=(f, j, g), x_ndim=x_ndim,
                 baseline=baseline if baseline in params else None, background=background, lanes=lanes)


constant = _builtin("constant", ("c",), cu.constant_values, cu.constant_jacobian, cu.polynomial_guess,
                    baseline="c", background=True, lanes=ln.polynomial_lanes)
linear = _builtin("linear", ("slope", "intercept"), cu.linear_values, cu.linear_jacobian, cu.linear_guess,
                  baseline="intercept", background=True, lanes=ln.linear_lanes)
exponential = _builtin("exponential", ("amplitude", "decay", "offset"), cu.exponential_values,
                       cu.exponential_jacobian, cu.exponential_guess_kernel, lanes=ln.exponential_lanes)
double_exponential = _builtin("double_exponential", ("a1", "tau1", "a2", "tau2", "offset"),
                              cu.double_exponential_values, cu.double_exponential_jacobian,
                              cu.double_exponential_guess, lanes=ln.double_exponential_lanes)
power_law = _builtin("power_law", ("amplitude", "exponent"), cu.power_law_values, cu.power_law_jacobian,
                     cu.power_law_guess, lanes=ln.power_law_lanes)
gaussian = _builtin("gaussian", ("amplitude", "center", "sigma", "offset"), pk.gaussian_values,
                    pk.gaussian_jacobian, pk.gaussian_guess, lanes=ln.gaussian_lanes)
lorentzian = _builtin("lorentzian", ("amplitude", "center", "gamma", "offset"), pk.lorentzian_values,
                      pk.lorentzian_jacobian, pk.lorentzian_guess, lanes=ln.lorentzian_lanes)
voigt = _builtin("voigt", ("amplitude", "center", "fwhm", "eta", "offset"), pk.voigt_values,
                 pk.voigt_jacobian, pk.voigt_guess, lanes=ln.voigt_lanes)
logistic = _builtin("logistic", ("amplitude", "center", "rate", "offset"), cu.logistic_values,
                    cu.logistic_jacobian, cu.logistic_guess, lanes=ln.logistic_lanes)
sine = _builtin("sine", ("amplitude", "omega", "phase", "offset"), cu.sine_values, cu.sine_jacobian,
                cu.sine_guess_kernel, lanes=ln.sine_lanes)
damped_sine = _builtin("damped_sine", ("amplitude", "decay", "omega", "phase", "offset"), cu.damped_sine_values,
                       cu.damped_sine_jacobian, cu.damped_sine_guess, lanes=ln.damped_sine_lanes)
michaelis_menten = _builtin("michaelis_menten", ("vmax", "km"), cu.michaelis_menten_values,
                            cu.michaelis_menten_jacobian, cu.michaelis_menten_guess, lanes=ln.michaelis_menten_lanes)
gaussian_2d = _builtin("gaussian_2d", ("amplitude", "x0", "y0", "width", "offset"), pk.gaussian_2d_values,
                       pk.gaussian_2d_jacobian, pk.gaussian_2d_guess, x_ndim=2, lanes=ln.gaussian_2d_lanes)

_POLYNOMIALS = {}


def polynomial(deg, prefix=None):
    """Polynomial model ``c0 + c1 x + ... + c{deg} x**deg`` (one compiled kernel serves every degree).

    Parameters
    ----------
    deg : int
        Degree, >= 0.
    prefix : str, optional
        Prefix of the parameter names (for composite models).

    Returns
    -------
    Model
    """
    if not isinstance(deg, int) or deg < 0:
        raise ValueError(f"`deg` must be a non-negative int, got {deg!r}.")
    if deg not in _POLYNOMIALS:
        _POLYNOMIALS[deg] = _builtin(f"polynomial{deg}", tuple(f"c{k}" for k in range(deg + 1)),
                                     cu.polynomial_values, cu.polynomial_jacobian, cu.polynomial_guess,
                                     baseline="c0", background=True, lanes=ln.polynomial_lanes)
    return _POLYNOMIALS[deg] if prefix is None else _POLYNOMIALS[deg].prefixed(prefix)


BUILTIN = {
    m.name: m
    for m in (constant, linear, exponential, double_exponential, power_law, gaussian, lorentzian, voigt,
              logistic, sine, damped_sine, michaelis_menten, gaussian_2d)
}
"""Built-in models by name (polynomials are made by :func:`polynomial`)."""
