"""A cubic that should follow exp(x) on [0, 1]."""

# EVOLVE-BLOCK-START
def coefficients():
    """a0, a1, a2, a3 of a0 + a1*x + a2*x**2 + a3*x**3"""
    return [1.0, 1.0, 0.3, 0.1]
# EVOLVE-BLOCK-END


def cubic(x):
    a = coefficients()
    return a[0] + a[1] * x + a[2] * x ** 2 + a[3] * x ** 3
