import { describe, expect, it } from 'vitest'
import { MAX_OUTPUT_CHARS, notebookToMarkdown } from './notebook.ts'

const markdown = (nb: unknown) => {
  const r = notebookToMarkdown(JSON.stringify(nb))
  if ('error' in r) throw new Error(r.error)
  return r.markdown
}

describe('notebookToMarkdown', () => {
  it('keeps markdown cells, fences code in the kernel language and follows it with its text output', () => {
    const md = markdown({
      nbformat: 4,
      metadata: { kernelspec: { language: 'julia', name: 'julia-1.10' } },
      cells: [
        { cell_type: 'markdown', source: ['# Annealing schedule\n', 'Cool slowly at first.'] },
        {
          cell_type: 'code',
          source: 'T = 10.0\nfor k in 1:3\n    T *= 0.9\nend',
          outputs: [
            { output_type: 'stream', name: 'stdout', text: ['cooling\n'] },
            { output_type: 'execute_result', data: { 'text/plain': ['7.29'], 'text/html': ['<b>7.29</b>'] } },
            { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=' } },
          ],
        },
        { cell_type: 'raw', source: 'raw note' },
        { cell_type: 'code', source: '', outputs: [] },
      ],
    })
    expect(md).toBe(
      '# Annealing schedule\nCool slowly at first.\n\n' +
        '```julia\nT = 10.0\nfor k in 1:3\n    T *= 0.9\nend\n```\n\n' +
        '```text\ncooling\n\n7.29\n```\n\n' +
        'raw note\n',
    )
    expect(md).not.toContain('iVBOR') // images are left out
    expect(md).not.toContain('<b>') // text/plain is preferred to HTML
  })

  it('a fence no backtick run inside the cell can close; errors without colour codes; long output cut', () => {
    const md = markdown({
      cells: [
        { cell_type: 'code', source: 'doc = """\n```python\nx = 1\n```\n"""', outputs: [] },
        {
          cell_type: 'code',
          source: '1/0',
          outputs: [
            {
              output_type: 'error',
              ename: 'ZeroDivisionError',
              evalue: 'division by zero',
              traceback: ['\u001b[0;31mTraceback\u001b[0m'],
            },
          ],
        },
        {
          cell_type: 'code',
          source: 'print("x" * 5000)',
          outputs: [{ output_type: 'stream', text: 'x'.repeat(5000) }],
        },
      ],
    })
    expect(md).toContain('````python\ndoc = """\n```python\nx = 1\n```\n"""\n````')
    expect(md).toContain('```text\nZeroDivisionError: division by zero\n```')
    expect(md).not.toContain('\u001b')
    expect(md).toContain(`${'x'.repeat(MAX_OUTPUT_CHARS)}\n… (3,000 more characters)`)
  })

  it('images pasted into markdown cells as data URIs are left out, their alt text kept', () => {
    const png = `data:image/png;base64,${'A'.repeat(50_000)}`
    const md = markdown({
      cells: [
        {
          cell_type: 'markdown',
          source: `Loss curve: ![training loss](${png}) and <img width="200" src="${png}"/> and ![](${png}).`,
        },
      ],
    })
    expect(md).toBe('Loss curve: (image: training loss) and (image) and (image).\n')
  })

  it('reads nbformat 3 worksheets, heading cells and `input`', () => {
    const md = markdown({
      nbformat: 3,
      metadata: { language: 'python' },
      worksheets: [
        {
          cells: [
            { cell_type: 'heading', level: 2, source: 'Results' },
            { cell_type: 'code', input: ['print(1)'], outputs: [{ output_type: 'pyout', text: ['1'] }] },
          ],
        },
      ],
    })
    expect(md).toBe('## Results\n\n```python\nprint(1)\n```\n\n```text\n1\n```\n')
  })

  it('says why when the file is not a notebook or holds no text', () => {
    expect(notebookToMarkdown('{"cells": [')).toEqual({ error: expect.stringMatching(/^not a Jupyter notebook: /) })
    expect(notebookToMarkdown('{"metadata": {}}')).toEqual({
      error: 'not a Jupyter notebook: it has no list of cells',
    })
    expect(notebookToMarkdown('[1, 2]')).toEqual({ error: 'not a Jupyter notebook: it has no list of cells' })
    expect(notebookToMarkdown(JSON.stringify({ cells: [{ cell_type: 'markdown', source: '  ' }] }))).toEqual({
      error: 'a notebook whose cells hold no text',
    })
  })

  it('an unusual kernel language name does not reach the fence', () => {
    const md = markdown({
      metadata: { kernelspec: { language: 'py```\n# injected' } },
      cells: [{ cell_type: 'code', source: 'x = 1' }],
    })
    expect(md).toBe('```python\nx = 1\n```\n')
  })
})
