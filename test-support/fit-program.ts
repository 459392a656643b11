// A program with fixed code above and below one EVOLVE-BLOCK region holding constants and a function:
// what the rewrite tests (engine splice, producer) take models' partial answers against.
export const FIT_PROGRAM = `import math

LABEL = "fit"


# EVOLVE-BLOCK-START
A = 0.5
B = 0.1
C = -0.2
D = 1.0


def predict(x):
    y = A * x * x + B * x
    y = y + C
    return y + 0.3 * math.sin(D * x)
# EVOLVE-BLOCK-END


def describe():
    return LABEL
`
