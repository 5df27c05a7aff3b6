"""Learning-rate schedules for the first-order methods: ``schedule(epoch) -> lr`` (epochs count from 0)."""

import math

__all__ = ["constant", "inverse_time", "step", "exponential", "inverse_sqrt", "make_schedule", "Schedule"]


class Schedule:
    """A learning rate as a function of the epoch; subclasses define :meth:`__call__`."""

    def __init__(self, lr0):
        if not (isinstance(lr0, int | float) and lr0 > 0 and math.isfinite(lr0)):
            raise ValueError(f"`lr` must be a positive number, got {lr0!r}.")
        self.lr0 = float(lr0)

    def __call__(self, epoch):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class constant(Schedule):
    """``lr0`` at every epoch."""

    def __call__(self, epoch):
        return self.lr0


class inverse_time(Schedule):
    """``lr0 / (1 + decay * epoch)``."""

    def __init__(self, lr0, decay=0.01):
        super().__init__(lr0)
        if decay < 0:
            raise ValueError(f"`decay` must be >= 0, got {decay!r}.")
        self.decay = float(decay)

    def __call__(self, epoch):
        return self.lr0 / (1.0 + self.decay * epoch)


class step(Schedule):
    """``lr0 * factor ** (epoch // every)``."""

    def __init__(self, lr0, factor=0.5, every=10):
        super().__init__(lr0)
        if not 0 < factor <= 1 or int(every) < 1:
            raise ValueError(f"`factor` must be in (0, 1] and `every` >= 1, got {factor!r}, {every!r}.")
        self.factor = float(factor)
        self.every = int(every)

    def __call__(self, epoch):
        return self.lr0 * self.factor ** (epoch // self.every)


class exponential(Schedule):
    """``lr0 * gamma ** epoch``."""

    def __init__(self, lr0, gamma=0.99):
        super().__init__(lr0)
        if not 0 < gamma <= 1:
            raise ValueError(f"`gamma` must be in (0, 1], got {gamma!r}.")
        self.gamma = float(gamma)

    def __call__(self, epoch):
        return self.lr0 * self.gamma**epoch


class inverse_sqrt(Schedule):
    """``lr0 / sqrt(epoch + 1)``."""

    def __call__(self, epoch):
        return self.lr0 / math.sqrt(epoch + 1.0)


SCHEDULES = {"constant": constant, "inverse_time": inverse_time, "step": step, "exponential": exponential,
             "inverse_sqrt": inverse_sqrt}


def make_schedule(schedule, lr):
    """A :class:`Schedule` from a name (with ``lr`` as ``lr0``), a Schedule, or a callable ``epoch -> lr``."""
    if schedule is None:
        return constant(lr)
    if isinstance(schedule, str):
        if schedule not in SCHEDULES:
            raise ValueError(f"`schedule` must be one of {sorted(SCHEDULES)} or a callable, got {schedule!r}.")
        return SCHEDULES[schedule](lr)
    if callable(schedule):
        return schedule
    raise TypeError(f"`schedule` must be a name, a Schedule or a callable, got {type(schedule).__name__}.")
