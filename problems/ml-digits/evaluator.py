"""ml-digits: accuracy of a training pipeline on a held-out split of the digits data.

The candidate is a program run through the worker's child sandbox helper (fm_sandbox.run_candidate)
in a fresh work directory holding only itself (main.py), train.csv and test_features.csv; it cannot
read this folder, so the held-out labels (private/test_labels.csv) stay with the evaluator.
It must write predictions.csv there: an optional header line "label", then one digit per test row.
"""
import os
import sys
import time

from fm_draw import Svg, image
from fm_evalkit import CandidateError, main, result, tail

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = os.path.join(HERE, 'private', 'test_labels.csv')
TRAIN = os.path.join(HERE, 'data', 'train.csv')
TEST = os.path.join(HERE, 'data', 'test_features.csv')
TIMEOUT_S = 90.0
CLASSES = 10


def read_labels(path):
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip()]
    return [int(v) for v in lines[1:]]


def read_predictions(path, count):
    if not os.path.exists(path):
        raise CandidateError('the program wrote no predictions.csv in its working directory')
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip()]
    if lines and lines[0].lower() == 'label':
        lines = lines[1:]
    if len(lines) != count:
        raise CandidateError(f'predictions.csv must hold {count} predictions (one per row of test_features.csv), '
                             f'found {len(lines)}')
    preds = []
    for k, v in enumerate(lines):
        try:
            p = float(v)
        except ValueError:
            raise CandidateError(f'prediction {k + 1} is {v[:40]!r}, not a digit')
        if p != int(p) or not 0 <= p < CLASSES:
            raise CandidateError(f'prediction {k + 1} is {v[:40]!r}, not a digit 0-9')
        preds.append(int(p))
    return preds


def draw_confusion(truth, preds, accuracy):
    """The confusion matrix: rows the true digit, columns the predicted one; errors in red, by count."""
    m = [[0] * CLASSES for _ in range(CLASSES)]
    for t, p in zip(truth, preds):
        if 0 <= p < CLASSES:
            m[t][p] += 1
    worst = max([m[i][j] for i in range(CLASSES) for j in range(CLASSES) if i != j] or [0]) or 1
    cell, x0, y0 = 34, 64, 44
    s = Svg(x0 + CLASSES * cell + 20, y0 + CLASSES * cell + 40)
    for i in range(CLASSES):
        s.text(x0 - 10, y0 + i * cell + cell / 2 + 4, str(i), size=12, text_anchor='end')
        s.text(x0 + i * cell + cell / 2, y0 - 8, str(i), size=12, text_anchor='middle')
        for j in range(CLASSES):
            v = m[i][j]
            if i == j:
                fill = '#d7efe9'
            elif v:
                fill = '#%02x%02x%02x' % (255, round(225 - 160 * v / worst), round(225 - 170 * v / worst))
            else:
                fill = '#ffffff'
            s.rect(x0 + j * cell, y0 + i * cell, cell, cell, fill=fill, stroke='#d0d7de', stroke_width=0.6)
            if v:
                s.text(x0 + j * cell + cell / 2, y0 + i * cell + cell / 2 + 4, str(v), size=11, text_anchor='middle',
                       fill='#1b2430' if i == j else '#82071e')
    s.text(x0 + CLASSES * cell / 2, y0 - 26, f'predicted digit (accuracy {accuracy:.4f})', size=12, text_anchor='middle')
    s.text(18, y0 + CLASSES * cell / 2, 'true digit', size=12, text_anchor='middle',
           transform=f'rotate(-90 18 {y0 + CLASSES * cell / 2})')
    return image(s)


def evaluate(candidate):
    try:
        from fm_sandbox import run_candidate
    except ImportError:
        raise CandidateError('the child-sandbox helper fm_sandbox is not importable: this problem holds private '
                             'labels and must run on an FM Agent worker (it puts workers/python on PYTHONPATH)',
                             evaluator_error=True)
    truth = read_labels(LABELS)
    started = time.perf_counter()
    run = run_candidate([sys.executable, 'main.py'], timeout=TIMEOUT_S,
                        files={'main.py': os.path.abspath(candidate), 'train.csv': TRAIN, 'test_features.csv': TEST})
    wall = time.perf_counter() - started
    logs = {'stdout': tail(run.stdout), 'stderr': tail(run.stderr)}
    if run.timed_out:
        raise CandidateError(f'the program did not finish within {TIMEOUT_S:g} s', **logs)
    if run.returncode != 0:
        raise CandidateError(f'the program exited with code {run.returncode}', **logs)
    preds = read_predictions(os.path.join(run.workdir, 'predictions.csv'), len(truth))
    correct = sum(p == t for p, t in zip(preds, truth))
    recalls = []
    for c in range(CLASSES):
        idx = [k for k, t in enumerate(truth) if t == c]
        recalls.append(sum(preds[k] == c for k in idx) / len(idx))
    accuracy = correct / len(truth)
    metrics = {'accuracy': accuracy, 'balanced_accuracy': sum(recalls) / CLASSES, 'errors': float(len(truth) - correct)}
    features = {'worst_class_recall': min(recalls), 'run_time_s': wall}
    return result(True, metrics, features,
                  f'held-out accuracy {accuracy:.4f} ({len(truth) - correct} errors of {len(truth)}); '
                  f'worst class recall {min(recalls):.3f} (digit {recalls.index(min(recalls))})',
                  confusion=draw_confusion(truth, preds, accuracy), **logs)


if __name__ == '__main__':
    main(evaluate)
