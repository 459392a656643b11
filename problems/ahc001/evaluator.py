"""ahc001 (AtCoder Heuristic Contest 001, "AtCoder Ad"): mean normalized case score on PRIVATE seeds.

The candidate is a contest program (stdin -> stdout). Every case runs through the worker's child
sandbox helper (fm_sandbox.run_candidate): the candidate gets a fresh work directory holding only
its own file, and cannot read this folder, so it never sees private/seeds.json. The instances are
generated here from those seeds with generator.py and scored with scorer.py (contest rules).

A case that crashes, runs past the hard limit or prints a wrong answer scores 0 for that case, as in
the contest; a candidate that scores 0 on every case is invalid.
"""
import json
import math
import os
import sys

import generator
import scorer
from fm_draw import Svg, image
from fm_evalkit import CandidateError, main, result, tail

HERE = os.path.dirname(os.path.abspath(__file__))
PRIVATE = os.path.join(HERE, 'private', 'seeds.json')


def hard_limit(budget):
    # interpreter start-up plus slack on a loaded machine; past this the case is a time-out
    return 2.0 * budget + 1.0


def draw(label, instance, output, score):
    """One case: each ad's rectangle coloured by its satisfaction (red 0 → green 1), its point as a dot."""
    n, companies = scorer.parse_input(instance)
    rects = scorer.parse_output(output, n)
    size, m = 440, 12
    k = size / scorer.SIDE
    s = Svg(size + 2 * m, size + 2 * m + 20)
    s.rect(m, m, size, size, fill='#fbfbfd', stroke='#333', stroke_width=1)
    for (x, y, r), (a, b, c, d) in zip(companies, rects):
        area = (c - a) * (d - b)
        p = 1.0 - (1.0 - min(r, area) / max(r, area)) ** 2 if a <= x < c and b <= y < d else 0.0
        fill = '#%02x%02x%02x' % (round(220 - 180 * p), round(60 + 140 * p), round(70 + 40 * p))
        s.rect(m + a * k, m + (scorer.SIDE - d) * k, (c - a) * k, (d - b) * k, fill=fill, fill_opacity=0.75, stroke='#1b2430', stroke_width=0.5)
    for x, y, _ in companies:
        s.circle(m + (x + 0.5) * k, m + (scorer.SIDE - y - 0.5) * k, 1.6, fill='#1b2430')
    s.text(m, size + 2 * m + 13, f'{label}: {n} ads, score {score / 1e9:.4f}; colour: satisfaction (red 0, green 1)', size=12)
    return image(s)


def evaluate(candidate):
    try:
        from fm_sandbox import run_candidate
    except ImportError:
        raise CandidateError('the child-sandbox helper fm_sandbox is not importable: this problem holds private '
                             'seeds and must run on an FM Agent worker (it puts workers/python on PYTHONPATH)',
                             evaluator_error=True)
    with open(PRIVATE) as f:
        private = json.load(f)
    budget = float(private['timeLimitS'])
    scores, coverage, aspect, failures, notes, walls = [], [], [], 0, [], []
    picture = None
    for k, seed in enumerate(private['seeds']):
        instance = generator.format_instance(*generator.generate(seed))
        run = run_candidate([sys.executable, 'main.py', repr(budget)], stdin=instance.encode(),
                            timeout=hard_limit(budget), files={'main.py': os.path.abspath(candidate)})
        label = f'case {k + 1}'
        if run.timed_out:
            score, details = 0, {'error': f'no answer within {hard_limit(budget):g} s (budget {budget:g} s)'}
        elif run.returncode != 0:
            score, details = 0, {'error': f'exit code {run.returncode}: ' + tail(run.stderr, 600)}
        else:
            score, details = scorer.score_case(instance, run.stdout.decode('utf-8', errors='replace'))
            if 'wrong_answer' in details:
                details['error'] = 'wrong answer: ' + details['wrong_answer']
        if 'error' in details:
            failures += 1
            notes.append(f'{label}: {details["error"]}')
        else:
            coverage.append(details['coverage'])
            aspect.append(details['mean_log_aspect'])
            if picture is None:
                picture = draw(label, instance, run.stdout.decode('utf-8', errors='replace'), score)
        scores.append(score)
    if failures == len(scores):
        raise CandidateError('every case failed; ' + ' | '.join(notes[:3]))
    mean = sum(scores) / len(scores)
    metrics = {'score': mean / 1e9, 'mean_case_score': mean, 'failed_cases': float(failures),
               'min_case_score': min(scores) / 1e9}
    features = {'coverage': sum(coverage) / len(coverage), 'mean_log_aspect': sum(aspect) / len(aspect)}
    feedback = (f'mean normalized score {mean / 1e9:.6f} over {len(scores)} private cases '
                f'(per-case contest score {mean:,.0f} of 1,000,000,000); {failures} failed')
    if notes:
        feedback += ': ' + ' | '.join(notes[:5])
    return result(True, metrics, features, feedback, **({'ads': picture} if picture else {}))


if __name__ == '__main__':
    main(evaluate)
