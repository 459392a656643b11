"""Rebuild the fixed split of ml-digits from Debian's python3-sklearn copy of the digits data.

Run once by the maintainers (the split is committed); stratified 70 % train / 30 % test with a
fixed seed. Writes data/train.csv, data/test_features.csv and private/test_labels.csv.
usage: /usr/bin/python3 tools/make_split.py
"""
import gzip
import os

import numpy as np

SOURCE = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz'
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20261127
TEST_FRACTION = 0.3


def main():
    with gzip.open(SOURCE, 'rt') as f:
        rows = np.loadtxt(f, delimiter=',', dtype=np.int64)
    x, y = rows[:, :-1], rows[:, -1]
    rng = np.random.default_rng(SEED)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        idx = np.nonzero(y == label)[0]
        rng.shuffle(idx)
        test[idx[:int(round(TEST_FRACTION * len(idx)))]] = True
    train_idx = np.nonzero(~test)[0]
    test_idx = np.nonzero(test)[0]
    rng.shuffle(train_idx)
    rng.shuffle(test_idx)
    names = [f'pixel_{r}_{c}' for r in range(8) for c in range(8)]
    with open(os.path.join(HERE, 'data', 'train.csv'), 'w') as f:
        f.write(','.join(names + ['label']) + '\n')
        for i in train_idx:
            f.write(','.join(map(str, x[i])) + f',{y[i]}\n')
    with open(os.path.join(HERE, 'data', 'test_features.csv'), 'w') as f:
        f.write(','.join(names) + '\n')
        for i in test_idx:
            f.write(','.join(map(str, x[i])) + '\n')
    with open(os.path.join(HERE, 'private', 'test_labels.csv'), 'w') as f:
        f.write('label\n')
        for i in test_idx:
            f.write(f'{y[i]}\n')
    print(f'train {len(train_idx)} rows, test {len(test_idx)} rows')


if __name__ == '__main__':
    main()
