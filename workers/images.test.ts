// Image artifacts: the SVG sanitizer against markup that would run, fetch or blow up; the PNG check;
// images taken out of the artifacts with their bounds; image files read from a results folder.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import {
  checkPng,
  checkPngBase64,
  ImageError,
  MAX_IMAGE_BYTES,
  MAX_IMAGES,
  PNG_MIME,
  readImageFiles,
  sanitizeSvg,
  splitImages,
  SVG_MIME,
} from './images.ts'

const NS = 'xmlns="http://www.w3.org/2000/svg"'
/** nothing that runs, fetches or escapes the picture */
function expectInert(out: string) {
  const svg = out.replaceAll(NS, '')
  expect(svg).not.toMatch(/<script|<foreignObject|<iframe|<image|<use|<a[\s>]|<style|<animate|<set[\s>]/i)
  expect(svg).not.toMatch(/\son[a-z]+\s*=/i)
  expect(svg).not.toMatch(/javascript:|https?:|data:|href|<!DOCTYPE|<!ENTITY/i)
  expect(svg).not.toMatch(/url\((?!#)/i)
}

describe('sanitizeSvg', () => {
  it('keeps a drawing as it is (elements, geometry, presentation, text)', () => {
    const svg = `<svg ${NS} viewBox="0 0 100 50" width="200" height="100"><title>packing</title><g transform="translate(1,1)" stroke="#333"><circle cx="10" cy="10" r="5" fill="rgb(10, 20, 30)" fill-opacity="0.5"/><polyline points="0,0 10,10 20,5" fill="none" stroke-width="0.5"/><text x="5" y="45" font-size="6" text-anchor="middle">Σr = 2.63 &amp; more</text></g></svg>`
    expect(sanitizeSvg(svg)).toBe(svg)
  })

  it('drops scripts, event handlers, foreignObject, links, images, styles and animations', () => {
    const evil = `<?xml version="1.0"?><?xml-stylesheet href="http://evil.example/x.css"?>
<svg ${NS} xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:html="http://www.w3.org/1999/xhtml" onload="alert(1)" width="10" height="10">
  <!-- <script>alert('comment')</script> -->
  <script>alert(1)</script>
  <script><![CDATA[ </svg><svg onload=alert(2)> ]]></script>
  <style>@import url(http://evil.example/a.css); circle { fill: url(http://evil.example/f) }</style>
  <foreignObject width="10" height="10"><html:div><html:script>alert(3)</html:script></html:div></foreignObject>
  <a href="javascript:alert(4)"><circle r="9"/></a>
  <image href="http://evil.example/track.png" width="1" height="1"/>
  <use xlink:href="http://evil.example/sprite.svg#x"/>
  <animate attributeName="href" to="javascript:alert(5)"/>
  <set attributeName="onclick" to="alert(6)"/>
  <html:script>alert(7)</html:script>
  <SCRIPT>alert(8)</SCRIPT>
  <circle cx="1" cy="1" r="1" onclick="alert(9)" onmouseover="alert(10)" fill="url(http://evil.example/#p)" stroke="url(#grad)" style="fill:url(http://evil.example/); stroke: red; behavior: url(x.htc)"/>
  <rect width="2" height="2" style="fill: rgb(1,2,3); stroke-width: 2"/>
</svg>`
    const out = sanitizeSvg(evil)
    expectInert(out)
    expect(out).toContain('<circle cx="1" cy="1" r="1" stroke="url(#grad)" style="stroke:red"/>')
    expect(out).toContain('<rect width="2" height="2" style="fill:rgb(1,2,3);stroke-width:2"/>')
    expect(out.startsWith(`<svg ${NS}`)).toBe(true)
  })

  it('refuses what it cannot read safely: DOCTYPE and entities, malformed markup, a root that is not svg', () => {
    const bad = [
      `<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg ${NS}><text>&b;</text></svg>`,
      `<svg ${NS}><text>&xxe;</text></svg>`,
      `<svg ${NS}><text>a & b</text></svg>`,
      `<svg ${NS}><circle r="1"></svg>`,
      `<svg ${NS}><g></circle></g></svg>`,
      `<svg ${NS}><circle r="1<2"/></svg>`,
      `<svg ${NS}><circle r=1 /></svg>`,
      `<svg ${NS}><circle r="1" r="2"/></svg>`,
      `<svg ${NS}><circle r="1"/>`,
      `<html><svg ${NS}/></html>`,
      `<svg ${NS}/><svg ${NS}/>`,
      `hello <svg ${NS}/>`,
      `<svg ${NS}><text>&#0;</text></svg>`,
      `<svg ${NS}><!-- never closed </svg>`,
      'not an image at all',
    ]
    for (const b of bad) expect(() => sanitizeSvg(b), b).toThrow(ImageError)
  })

  it('bounds size, element count and depth', () => {
    const many = `<svg ${NS}>${'<circle r="1"/>'.repeat(20_001)}</svg>`
    expect(() => sanitizeSvg(many)).toThrow(/elements|characters/)
    const deep = `<svg ${NS}>${'<g>'.repeat(80)}${'</g>'.repeat(80)}</svg>`
    expect(() => sanitizeSvg(deep)).toThrow(/deeper/)
    const big = `<svg ${NS}><path d="${'M0 0 L1 1 '.repeat(12_000)}"/></svg>`
    expect(big.length).toBeGreaterThan(MAX_IMAGE_BYTES)
    expect(() => sanitizeSvg(big)).toThrow(/after cleaning/)
  })

  it('is stable: cleaning its own output changes nothing, and text stays text', () => {
    const once = sanitizeSvg(
      `<svg ${NS}><text x="1">&lt;script&gt;alert(1)&lt;/script&gt; <![CDATA[<b>bold</b>]]></text><desc>a "quote"</desc></svg>`,
    )
    expect(once).toBe(
      `<svg ${NS}><text x="1">&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;</text><desc>a "quote"</desc></svg>`,
    )
    expect(sanitizeSvg(once)).toBe(once)
  })
})

/** a real PNG: width × height grey pixels */
function png(width: number, height: number, o: { badCrc?: boolean; trailing?: boolean; noIdat?: boolean } = {}) {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE((crc32(body) ^ (o.badCrc && type === 'IDAT' ? 1 : 0)) >>> 0)
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  const raw = Buffer.alloc(Math.min(height, 64) * (Math.min(width, 64) + 1), 0x80)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(o.noIdat ? [] : [chunk('IDAT', deflateSync(raw))]),
    chunk('IEND', Buffer.alloc(0)),
    ...(o.trailing ? [Buffer.from('<script>')] : []),
  ])
}
function crc32(b: Buffer) {
  let c = 0xffffffff
  for (const byte of b) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

describe('checkPng', () => {
  it('accepts a well-formed PNG and gives its size', () => {
    expect(checkPng(png(16, 8))).toEqual({ width: 16, height: 8 })
    expect(
      checkPngBase64(
        png(3, 3)
          .toString('base64')
          .replace(/(.{20})/g, '$1\n'),
      ),
    ).toBe(png(3, 3).toString('base64'))
  })
  it('refuses a wrong signature, a bad CRC, trailing data, no image data, huge dimensions, bad base64', () => {
    expect(() => checkPng(Buffer.concat([Buffer.from('GIF89a'), png(2, 2).subarray(6)]))).toThrow(/signature/)
    expect(() => checkPng(png(2, 2, { badCrc: true }))).toThrow(/CRC/)
    expect(() => checkPng(png(2, 2, { trailing: true }))).toThrow(/after its end/)
    expect(() => checkPng(png(2, 2, { noIdat: true }))).toThrow(/no image data/)
    expect(() => checkPng(png(100_000, 100_000))).toThrow(/pixels/)
    expect(() => checkPng(png(2, 2).subarray(0, 60))).toThrow(/truncated|past the end/)
    expect(() => checkPngBase64('%%%not base64')).toThrow(/base64/)
  })
})

describe('splitImages', () => {
  const svg = (r: number) => `<svg ${NS}><circle r="${r}"/></svg>`
  it('takes image artifacts out, cleaned, and leaves the rest', () => {
    const r = splitImages({
      feedback: 'ok',
      packing: { type: SVG_MIME, data: `<svg ${NS} onload="x()"><circle r="1"/></svg>` },
      'timings.png': { type: PNG_MIME, data: png(4, 4).toString('base64') },
      other: { type: 'text/html', data: '<b>' },
    })
    expect(r.artifacts).toEqual({ feedback: 'ok', other: { type: 'text/html', data: '<b>' } })
    expect(r.images).toEqual([
      { name: 'packing', mime: SVG_MIME, data: svg(1) },
      { name: 'timings', mime: PNG_MIME, data: png(4, 4).toString('base64') },
    ])
  })
  it('a refused image leaves its reason; beyond the count or the total the rest is left out, said so', () => {
    const r = splitImages({ bad: { type: SVG_MIME, data: '<!DOCTYPE x><svg/>' } })
    expect(r.images).toEqual([])
    expect(r.artifacts['image_error:bad']).toMatch(/^the SVG image was refused: a DOCTYPE/)
    const many = Object.fromEntries(
      Array.from({ length: MAX_IMAGES + 2 }, (_, i) => [`p${i}`, { type: SVG_MIME, data: svg(i) }]),
    )
    const m = splitImages(many)
    expect(m.images).toHaveLength(MAX_IMAGES)
    expect(Object.keys(m.artifacts)).toEqual([`image_error:p${MAX_IMAGES}`, `image_error:p${MAX_IMAGES + 1}`])
    const fat = `<svg ${NS}><path d="${'M0 0 L1 1 '.repeat(9_000)}"/></svg>`
    const t = splitImages({
      a: { type: SVG_MIME, data: fat },
      b: { type: SVG_MIME, data: fat },
      c: { type: SVG_MIME, data: fat },
    })
    expect(t.images.map((i) => i.name)).toEqual(['a', 'b'])
    expect(t.artifacts['image_error:c']).toMatch(/at most 250,000 characters/)
  })
})

describe('readImageFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-images-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  it('reads *.svg and *.png regular files, follows no link, waits on no pipe, reads nothing over the bound', () => {
    const res = join(dir, 'results')
    mkdirSync(res)
    writeFileSync(join(res, 'metrics.json'), '{}')
    writeFileSync(join(res, 'tour.svg'), `<svg ${NS}><circle r="2"/></svg>`)
    writeFileSync(join(res, 'plot.png'), png(5, 5))
    symlinkSync('/etc/passwd', join(res, 'secret.svg'))
    execFileSync('mkfifo', [join(res, 'pipe.png')])
    writeFileSync(join(res, 'huge.png'), Buffer.alloc(MAX_IMAGE_BYTES + 10))
    const files = readImageFiles(res)
    expect(files['tour.svg']).toEqual({ type: SVG_MIME, data: `<svg ${NS}><circle r="2"/></svg>` })
    expect(files['plot.png']).toEqual({ type: PNG_MIME, data: png(5, 5).toString('base64') })
    expect(files['image_error:secret.svg']).toMatch(/unreadable \(ELOOP\)/)
    expect(files['image_error:pipe.png']).toMatch(/not a regular file/)
    expect(files['image_error:huge.png']).toMatch(/over 100000 bytes/)
    expect(Object.keys(files)).not.toContain('metrics.json')
    expect(readImageFiles(join(dir, 'missing'))).toEqual({})
    // and as artifacts they become images
    expect(
      splitImages(files)
        .images.map((i) => i.name)
        .sort(),
    ).toEqual(['plot', 'tour'])
  })
})
