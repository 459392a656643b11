import { describe, expect, it } from 'vitest'
import { decodeText, normalizeContent } from './validate.ts'

describe('a file read as knowledge', () => {
  it('takes UTF-16 with its byte order mark (Windows "Unicode"), either byte order', () => {
    const text = '# Recuit simulé\n\nTempérature initiale élevée.\n'
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
    const be = Buffer.from(le)
    be.swap16()
    expect(decodeText(le, 'notes.md')).toBe(text)
    expect(decodeText(be, 'notes.md')).toBe(text)
    // a lone half of a character is refused, named as UTF-16
    expect(() => decodeText(Buffer.from([0xff, 0xfe, 0x41, 0x00, 0x00, 0xd8]), 'bad.md')).toThrow(
      'bad.md starts as UTF-16 text but is not valid UTF-16; convert it to UTF-8 first',
    )
    // without a byte order mark, NUL bytes still mean binary
    expect(() => decodeText(Buffer.from('a\u0000b'), 'blob.txt')).toThrow('looks binary')
  })

  it('drops a pasted log’s terminal colours instead of calling it binary', () => {
    const log = `# Run log\n\n${'\u001b[32mok\u001b[0m step\n'.repeat(3)}\u001b[1;31mFAILED\u001b[0m at the end\n`
    expect(normalizeContent(log, 'log.md')).toBe('# Run log\n\nok step\nok step\nok step\nFAILED at the end\n')
  })
})
