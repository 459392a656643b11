# EVOLVE-BLOCK-START
def weights():
    return [0.2, 0.4, 0.1]
# EVOLVE-BLOCK-END
