"""Seed for ml-digits: standardized pixels and a multinomial logistic regression.

Runs as a program in a work directory holding train.csv (64 pixel columns + label) and
test_features.csv (the same 64 columns, no label); writes predictions.csv: a header line "label",
then one predicted digit per row of test_features.csv, in order.
"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# EVOLVE-BLOCK-START
C = 0.05            # inverse regularization strength
MAX_ITER = 300      # solver iterations
PIXEL_SCALE = 16.0  # pixels are counts in 0..16


def features(x):
    return x / PIXEL_SCALE


def build_model():
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=MAX_ITER))
# EVOLVE-BLOCK-END


def main():
    train = np.loadtxt('train.csv', delimiter=',', skiprows=1)
    test = np.loadtxt('test_features.csv', delimiter=',', skiprows=1, ndmin=2)
    x, y = train[:, :-1], train[:, -1].astype(int)
    model = build_model()
    model.fit(features(x), y)
    pred = model.predict(features(test))
    with open('predictions.csv', 'w') as f:
        f.write('label\n')
        f.writelines(f'{int(p)}\n' for p in pred)


if __name__ == '__main__':
    main()
