"""The Python driver: residuals and Jacobians of user Python functions (and compiled models seen
as Python problems), finite differences, the driver loop."""
