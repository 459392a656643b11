import math

# EVOLVE-BLOCK-START
A = 0.5
B = 0.1
C = -0.2
D = 1.0


def predict(x):
    return A * x * x + B * x + C + 0.3 * math.sin(D * x)
# EVOLVE-BLOCK-END
