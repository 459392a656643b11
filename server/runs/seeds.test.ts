import { describe, expect, it } from 'vitest'
import { programOfDocument, startPrograms } from './seeds.ts'

describe('the programs a run starts from', () => {
  it('the problem’s seed first, then the run’s, without duplicates (normalized code), within the limit', () => {
    const problem = { seedCode: 'x = 1\n' }
    const config = {
      seedPrograms: [{ code: 'x  =  1  # same\n' }, { code: 'y = 2\n', label: 'from an expert' }, { code: 'z = 3\n' }],
    }
    const p = startPrograms(problem, config, 'python', 10)
    expect(p.map((s) => [s.index, s.description])).toEqual([
      [-1, "the problem's entry program"],
      [1, 'seed program: from an expert'],
      [2, 'seed program 3'],
    ])
    expect(startPrograms(problem, config, 'python', 2).map((s) => s.index)).toEqual([-1, 1])
  })

  it('a problem without a seed program starts from the run’s, or from none', () => {
    expect(
      startPrograms({ seedCode: '' }, { seedPrograms: [{ code: 'y = 2\n' }] }, 'python', 10).map((s) => s.index),
    ).toEqual([0])
    expect(startPrograms({ seedCode: '  \n' }, {}, 'python', 10)).toEqual([])
  })

  it('reads a program from a knowledge document: a code document whole, else its fenced block in the language', () => {
    expect(programOfDocument({ format: 'code', content: 'def f():\n    return 1\n' }, 'python')).toBe(
      'def f():\n    return 1\n',
    )
    const md = 'Notes.\n\n```cpp\nint main() {}\n```\n\nThe Python version:\n\n```py\nprint(1)\n```\n'
    expect(programOfDocument({ format: 'markdown', content: md }, 'python')).toBe('print(1)\n')
    expect(programOfDocument({ format: 'markdown', content: md }, 'cpp')).toBe('int main() {}\n')
    // a block in another language is not this problem's program; an unnamed one may be
    expect(programOfDocument({ format: 'markdown', content: md }, 'rust')).toBeNull()
    const note = 'Fix the seeds:\n\n```bash\nexport PYTHONHASHSEED=0\n```\n'
    expect(programOfDocument({ format: 'markdown', content: note }, 'python')).toBeNull()
    expect(programOfDocument({ format: 'markdown', content: '```\nx = 1\n```\n' }, 'python')).toBe('x = 1\n')
    expect(programOfDocument({ format: 'code', content: 'echo hi\n', sourcePath: 'run.sh' }, 'python')).toBeNull()
    expect(programOfDocument({ format: 'text', content: 'no code here' }, 'python')).toBeNull()
  })
})
