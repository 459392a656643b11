import { describe, expect, it } from 'vitest'
import {
  compareCaveat,
  directionNote,
  settingsRows,
  bestRunId,
  canShowProgress,
  compareCsv,
  compareHref,
  compareLines,
  configDiff,
  defaultYMode,
  finalTable,
  flattenConfig,
  linesExtent,
  parseRunIds,
  progress,
  spendAxisNote,
  type CompareData,
  type CompareRun,
} from './compare.ts'

function run(id: string, o: Partial<CompareRun> = {}): CompareRun {
  return {
    id,
    name: `run ${id}`,
    problemId: 'p',
    problemName: 'P',
    direction: 'max',
    primaryMetric: 'score',
    reference: { value: 10, source: 'paper' },
    status: 'completed',
    statusReason: null,
    evaluations: 100,
    bestScore: 8,
    bestCandidateId: `${id}-best`,
    seedScore: 2,
    spendUsd: 0.5,
    spendEstimated: false,
    unpriced: [],
    createdAt: 0,
    startedAt: 1000,
    finishedAt: 61_000,
    activeS: 60,
    activeAt: 61_000,
    islands: 4,
    mutator: 'local',
    models: [],
    config: { islands: 4, budget: { maxEvals: 100 } },
    ...o,
  }
}

describe('compare URL', () => {
  it('reads distinct, well-formed ids, at most eight', () => {
    expect(parseRunIds('a,b,,a, c ,bad id,d;drop')).toEqual(['a', 'b', 'c'])
    expect(parseRunIds(null)).toEqual([])
    expect(parseRunIds(Array.from({ length: 12 }, (_, i) => `r${i}`).join(','))).toHaveLength(8)
    expect(compareHref(['a', 'b'])).toBe('/runs/compare?runs=a,b')
  })
})

describe('best-so-far lines', () => {
  const data: CompareData = {
    runs: [
      run('a'),
      run('b', {
        bestScore: 6,
        evaluations: 50,
        spendUsd: 2,
        finishedAt: 31_000,
        activeS: 30,
        activeAt: 31_000,
        seedScore: 4,
      }),
    ],
    series: {
      a: [
        { e: 10, t: 5, s: 0.1, b: 3 },
        { e: 60, t: 30, s: 0.3, b: 7 },
        { e: 100, t: 60, s: 0.5, b: 8 },
      ],
      b: [
        { e: 20, t: 10, s: 1, b: 5 },
        { e: 40, t: 20, s: 1.5, b: null },
      ],
    },
    // a's improvements at their own evaluations (#7 and #55), where its metric rows saw them later (10 and 60)
    improvements: {
      a: [
        { e: 0, b: 2 },
        { e: 7, b: 3 },
        { e: 55, b: 7 },
        { e: 91, b: 8 },
      ],
    },
    missing: [],
  }
  it('puts each run on evaluations, active time or spend, ending at its final state', () => {
    const byEvals = compareLines(data, 'evals', 'score')
    expect(byEvals[0]!.points).toEqual([
      { x: 0, y: 2 },
      { x: 7, y: 3 },
      { x: 55, y: 7 },
      { x: 91, y: 8 },
      { x: 100, y: 8 },
    ])
    // against time and spend only the metric rows know where a run was
    expect(compareLines(data, 'time', 'score')[0]!.points).toEqual([
      { x: 5, y: 3 },
      { x: 30, y: 7 },
      { x: 60, y: 8 },
    ])
    // b's last tick is older than its end: the line is closed at the run's own numbers
    expect(byEvals[1]!.points).toEqual([
      { x: 20, y: 5 },
      { x: 50, y: 6 },
    ])
    expect(compareLines(data, 'time', 'score')[1]!.points.map((p) => p.x)).toEqual([10, 30])
    expect(compareLines(data, 'spend', 'score')[1]!.points.map((p) => p.x)).toEqual([1, 2])
    expect(linesExtent(byEvals)!.x).toEqual([0, 100])
  })

  it('ends a resumed run on the time it ran, not the hours it sat stopped', () => {
    // ran 200 s, stopped for three hours, resumed, ran 100 s more: its metric rows carry its own clock
    const resumed = run('r', {
      startedAt: 0,
      finishedAt: 3 * 3_600_000 + 300_000,
      activeS: 300,
      activeAt: 3 * 3_600_000 + 300_000,
      bestScore: 9,
    })
    const d: CompareData = {
      runs: [resumed],
      series: {
        r: [
          { e: 40, t: 195, s: 0.1, b: 5 },
          { e: 44, t: 201, s: 0.1, b: 5 },
          { e: 90, t: 290, s: 0.4, b: 8 },
        ],
      },
      improvements: { r: [] },
      missing: [],
    }
    expect(compareLines(d, 'time', 'score')[0]!.points.map((p) => p.x)).toEqual([195, 201, 290, 300])
    expect(finalTable([resumed])[0]!.activeS).toBe(300)
  })

  it('measures progress from the seed to the reference, so different problems compare', () => {
    expect(progress(8, 2, 10)).toBeCloseTo(0.75)
    expect(progress(0.1, 0.5, 0)).toBeCloseTo(0.8) // minimizing: from 0.5 toward 0
    expect(progress(1, null, 10)).toBeNull()
    expect(progress(1, 3, 3)).toBeNull()
    const lines = compareLines(data, 'evals', 'progress')
    expect(lines[0]!.points.at(-1)!.y).toBeCloseTo(0.75)
    expect(lines[1]!.points.at(-1)!.y).toBeCloseTo(2 / 6)
    const other = [run('a'), run('b', { problemId: 'q' })]
    expect(defaultYMode(other)).toBe('progress')
    expect(defaultYMode([run('a'), run('b')])).toBe('score')
    expect(canShowProgress([run('a'), run('b', { reference: null })])).toBe(false)
    expect(defaultYMode([run('a'), run('b', { problemId: 'q', seedScore: null })])).toBe('score')
  })
})

describe('final table and CSV', () => {
  it('lists best, evaluations, spend, time, islands and models, and names the best run of one problem', () => {
    const runs = [
      run('a', { mutator: 'llm', models: ['openai:gpt-4.1-mini', 'ollama:qwen'] }),
      run('b', { bestScore: 9, finishedAt: null, status: 'evolving' }),
    ]
    const rows = finalTable(runs, 121_000)
    expect(rows[0]).toMatchObject({
      best: 8,
      evaluations: 100,
      spendUsd: 0.5,
      activeS: 60,
      islands: 4,
      models: 'openai:gpt-4.1-mini + ollama:qwen',
      progress: 0.75,
    })
    expect(rows[1]).toMatchObject({ activeS: 120, models: 'offline operators' })
    // stopped after 20 s, resumed an hour later, ran 10 s more: 30 s, not the hour between
    const resumed = run('c', { startedAt: 0, finishedAt: 3_630_000, activeS: 30, activeAt: 3_630_000 })
    expect(finalTable([resumed], 4_000_000)[0]).toMatchObject({ activeS: 30 })
    // b is still going: no winner yet, and the table says why
    expect(bestRunId(runs)).toBeNull()
    expect(compareCaveat(runs)).toBe('run b has not ended: no run is called the best until every one has.')
    expect(bestRunId([run('a'), run('b', { bestScore: 9 })])).toBe('b')
    expect(bestRunId([run('a', { direction: 'min' }), run('b', { direction: 'min', bestScore: 9 })])).toBe('a')
    expect(compareCaveat([run('a', { evaluations: 400 }), run('b', { evaluations: 80 })])).toBe(
      'they ran 80 to 400 evaluations: the chart compares them at equal evaluations.',
    )
    expect(compareCaveat([run('a'), run('b')])).toBeNull()
    expect(bestRunId([run('a'), run('b', { problemId: 'q' })])).toBeNull()
  })

  it('writes one CSV line per run, quoted and with formulas defused', () => {
    const csv = compareCsv(
      [run('a', { name: 'tuned, "fast"' }), run('b', { name: '=HYPERLINK("x")', bestScore: null })],
      61_000,
    )
    const lines = csv.trimEnd().split('\r\n')
    expect(lines[0]).toBe(
      'run_id,name,problem,status,direction,best,progress_to_reference,reference,evaluations,spend_usd,active_s,islands,models,spend_estimated',
    )
    expect(lines[1]).toBe('a,"tuned, ""fast""",p,completed,max,8,0.75,10,100,0.5,60,4,offline operators,false')
    expect(lines[2]).toMatch(/^b,"'=HYPERLINK\(""x""\)",p,completed,max,,,10,/)
  })

  it('leaves the spend of a run that called a model without a price unknown, not $0', () => {
    const runs = [
      run('a', { mutator: 'llm', models: ['openai:instant'], spendUsd: 0, unpriced: ['openai:instant'] }),
      run('b', { mutator: 'llm', models: ['openai:gpt-4.1-mini'], spendUsd: 0.25 }),
    ]
    expect(finalTable(runs, 61_000).map((r) => [r.spendUsd, r.unpriced])).toEqual([
      [0, ['openai:instant']],
      [0.25, []],
    ])
    const lines = compareCsv(runs, 61_000).trimEnd().split('\r\n')
    // spend_usd is the tenth column: empty for the unpriced run, its value for the priced one
    expect(lines[1]!.split(',')[9]).toBe('')
    expect(lines[2]!.split(',')[9]).toBe('0.25')
    const data: CompareData = {
      runs,
      series: { a: [{ e: 50, t: 30, s: 0, b: 5 }], b: [{ e: 50, t: 30, s: 0.1, b: 5 }] },
      improvements: {},
      missing: [],
    }
    // against spend the unpriced run would sit at $0 as if free: it is left out, and the page says why
    const bySpend = compareLines(data, 'spend', 'score')
    expect(bySpend.map((l) => l.points.length)).toEqual([0, 2])
    expect(compareLines(data, 'evals', 'score')[0]!.points.length).toBeGreaterThan(0)
    expect(spendAxisNote(runs)).toBe(
      'run a not drawn against spend: no price for openai:instant, so its spend is unknown.',
    )
    expect(spendAxisNote([runs[0]!])).toBe(
      'No run can be drawn against spend: no price for openai:instant, so its spend is unknown.',
    )
    expect(spendAxisNote([run('c'), runs[1]!])).toBeNull()
  })

  it('marks a spend from estimated token counts in the table, the caveat and the CSV', () => {
    const runs = [
      run('a', { mutator: 'llm', models: ['openai:no-usage'], spendUsd: 0.25, spendEstimated: true }),
      run('b', { mutator: 'llm', models: ['openai:gpt-4.1-mini'], spendUsd: 0.25 }),
      // nothing priced was spent: unknown, with no figure to call an estimate
      run('c', { mutator: 'llm', spendUsd: 0, spendEstimated: true, unpriced: ['openai:instant'] }),
    ]
    expect(finalTable(runs, 61_000).map((r) => r.spendEstimated)).toEqual([true, false, true])
    expect(compareCaveat(runs)).toBe(
      'the spend of run a (≈) is an estimate: its model sends no token counts, so they are counted at 4 characters per token.',
    )
    expect(compareCaveat([runs[0]!, { ...runs[1]!, spendEstimated: true }])).toMatch(
      /^the spend of run a, run b \(≈\) is an estimate: their models send no token counts/,
    )
    const lines = compareCsv(runs, 61_000).trimEnd().split('\r\n')
    expect(lines.slice(1).map((l) => [l.split(',')[9], l.split(',').at(-1)])).toEqual([
      ['0.25', 'true'],
      ['0.25', 'false'],
      ['', 'true'],
    ])
  })
})

describe('configuration diff', () => {
  it('flattens nested settings and puts what differs first', () => {
    expect(flattenConfig({ a: 1, b: { c: [1, 2], d: [{ m: 'x' }] }, e: {}, f: [] })).toEqual({
      a: '1',
      'b.c': '1, 2',
      'b.d[0].m': 'x',
      e: '{}',
      f: 'none',
    })
    const rows = configDiff([
      { islands: 4, budget: { maxEvals: 300 }, models: [{ provider: 'openai', model: 'a' }], seed: 0 },
      { islands: 8, budget: { maxEvals: 300 }, models: [], seed: 0 },
    ])
    expect(rows.filter((r) => r.differs).map((r) => r.path)).toEqual([
      'islands',
      'models',
      'models[0].model',
      'models[0].provider',
    ])
    expect(rows.find((r) => r.path === 'islands')!.values).toEqual(['4', '8'])
    expect(rows.find((r) => r.path === 'models[0].model')!.values).toEqual(['a', ''])
    expect(rows.find((r) => r.path === 'seed')).toEqual({ path: 'seed', values: ['0', '0'], differs: false })
    // an offline run and two model runs: the models and the model operators' weights are the model
    // runs' to compare, the offline operators' weights the offline run's
    const mixed = configDiff([
      { mutator: 'local', localOperators: { swap: 0 }, llmOperators: { diff: 0.6 }, models: [] },
      { mutator: 'llm', localOperators: { swap: 1 }, llmOperators: { diff: 0.6 }, models: [{ model: 'a' }] },
      { mutator: 'llm', localOperators: { swap: 1 }, llmOperators: { diff: 0.6 }, models: [{ model: 'a' }] },
    ])
    expect(mixed.find((r) => r.path === 'llmOperators.diff')).toEqual({
      path: 'llmOperators.diff',
      values: ['not used', '0.6', '0.6'],
      differs: false,
    })
    expect(mixed.find((r) => r.path === 'models[0].model')!.differs).toBe(false)
    expect(mixed.find((r) => r.path === 'localOperators.swap')!.values).toEqual(['0', 'not used', 'not used'])
    expect(mixed.find((r) => r.path === 'mutator')!.differs).toBe(true)
  })
})

describe('which way is better', () => {
  it('one sentence when the runs agree; each problem named when they do not', () => {
    const run = (problemId: string, direction: 'max' | 'min') => ({ problemId, direction })
    expect(directionNote([run('tsp', 'min'), run('tsp', 'min')])).toBe('Lower is better. ')
    expect(directionNote([run('heilbronn', 'max'), run('tsp', 'min'), run('packing', 'max')])).toBe(
      'Higher is better for heilbronn, packing; lower for tsp. ',
    )
  })
})

describe("a run's settings", () => {
  it('every value by path, seed programs counted, not printed', () => {
    const rows = settingsRows({
      islands: 3,
      seed: 7,
      budget: { maxEvals: 400 },
      seedPrograms: [{ code: 'x = 1' }, { code: 'x = 2' }],
    })
    expect(rows).toEqual([
      { path: 'budget.maxEvals', value: '400' },
      { path: 'islands', value: '3' },
      { path: 'seed', value: '7' },
      { path: 'seedPrograms', value: '2 uploaded' },
    ])
  })
})
