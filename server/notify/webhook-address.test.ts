// Where a webhook may point: every class of internal or special address is refused by default,
// in the tricky spellings the URL parser accepts; the operator's opt-in allows what it says and
// no more; a name is checked after resolution (a fake resolver stands for DNS).
import { describe, expect, it } from 'vitest'
import { WebhookUrl } from '../../client-safe/notify-messages.ts'
import {
  checkAddress,
  classifyIp,
  hostTarget,
  parseAllowPolicy,
  parseIp,
  STRICT,
  type AddressClass,
} from './webhook-address.ts'
import { webhookTargetProblem } from './webhook.ts'

const cls = (a: string): AddressClass => classifyIp(parseIp(a)!)

/** The class of the host of a URL as a user types it (the WHATWG parser normalises it first). */
const urlClass = (url: string) => {
  const t = hostTarget(new URL(WebhookUrl.parse(url)).hostname)
  return 'address' in t ? cls(t.address) : `name:${t.name}`
}

describe('classifying an address', () => {
  it('names each internal and special IPv4 range', () => {
    const cases: Array<[string, AddressClass]> = [
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.1.1', 'link-local'],
      ['169.254.169.254', 'metadata'],
      ['100.100.100.200', 'metadata'],
      ['100.64.0.1', 'cgnat'],
      ['100.127.255.255', 'cgnat'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['255.255.255.255', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['192.0.2.10', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['8.8.8.8', 'public'],
      ['172.32.0.1', 'public'],
      ['100.128.0.1', 'public'],
      ['169.253.255.255', 'public'],
    ]
    for (const [a, k] of cases) expect(cls(a), a).toBe(k)
  })

  it('names each internal and special IPv6 range, and sees through IPv4 carried in IPv6', () => {
    const cases: Array<[string, AddressClass]> = [
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fc00::1', 'private'],
      ['fd12:3456::1', 'private'],
      ['fe80::1', 'link-local'],
      ['febf::1', 'link-local'],
      ['fd00:ec2::254', 'metadata'],
      ['ff02::1', 'multicast'],
      ['2001:db8::1', 'reserved'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:a9fe:a9fe', 'metadata'],
      ['::ffff:10.0.0.1', 'private'],
      ['64:ff9b::192.168.0.1', 'private'],
      ['2002:7f00:1::', 'loopback'],
      ['::127.0.0.1', 'reserved'],
      ['4000::1', 'reserved'],
      ['::ffff:8.8.8.8', 'public'],
      ['2606:4700::1111', 'public'],
      ['[2a00:1450::1]', 'public'],
      ['fe80::1%eth0', 'link-local'],
    ]
    for (const [a, k] of cases) expect(cls(a), a).toBe(k)
  })

  it('reads the spellings a URL allows: decimal, hex, short, mapped, localhost with a dot', () => {
    expect(urlClass('http://2130706433/')).toBe('loopback')
    expect(urlClass('http://0x7f.1/')).toBe('loopback')
    expect(urlClass('http://0177.0.0.1/')).toBe('loopback')
    expect(urlClass('http://127.1:8080/')).toBe('loopback')
    expect(urlClass('http://127.0.0.1./')).toBe('loopback')
    expect(urlClass('http://[::ffff:127.0.0.1]/')).toBe('loopback')
    expect(urlClass('http://[::1]:3000/x')).toBe('loopback')
    expect(urlClass('http://0/')).toBe('unspecified')
    expect(urlClass('http://localhost./')).toBe('loopback')
    expect(urlClass('http://LocalHost/')).toBe('loopback')
    expect(urlClass('http://api.localhost/')).toBe('loopback')
    expect(urlClass('http://169.254.169.254/latest/meta-data/')).toBe('metadata')
    expect(urlClass('https://Hooks.Example.org./x')).toBe('name:hooks.example.org')
  })
})

describe('the operator’s opt-in', () => {
  it('allows nothing internal by default, nor for a value it does not understand', () => {
    expect(parseAllowPolicy(undefined)).toEqual(STRICT)
    expect(parseAllowPolicy('0')).toEqual(STRICT)
    for (const a of ['127.0.0.1', '10.0.0.1', '::1', '100.64.0.1', '169.254.1.1', '224.0.0.1'])
      expect(checkAddress(a, STRICT).ok, a).toBe(false)
    expect(checkAddress('8.8.8.8', STRICT).ok).toBe(true)
    const bad = parseAllowPolicy('yes please')
    expect(bad.internal).toBe(false)
    expect(bad.problem).toMatch(/FM_WEBHOOK_ALLOW_PRIVATE="yes please" is not understood/)
    expect(checkAddress('127.0.0.1', bad).ok).toBe(false)
    expect(parseAllowPolicy('10.0.0.0/33').problem).toBeTruthy()
  })

  it('=1 allows internal unicast, never metadata, multicast or special ranges', () => {
    const p = parseAllowPolicy('1')
    for (const a of ['127.0.0.1', '10.0.0.1', '::1', 'fd00::1', '100.64.0.1', '169.254.1.1', '::ffff:192.168.1.1'])
      expect(checkAddress(a, p).ok, a).toBe(true)
    for (const a of ['169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '224.0.0.1', '192.0.2.1'])
      expect(checkAddress(a, p).ok, a).toBe(false)
  })

  it('a list allows exactly its ranges', () => {
    const p = parseAllowPolicy(' 10.1.2.0/24, fd00::/8 ,127.0.0.1')
    expect(p.problem).toBeNull()
    for (const a of ['10.1.2.200', 'fd00::5', '127.0.0.1']) expect(checkAddress(a, p).ok, a).toBe(true)
    for (const a of ['10.1.3.1', '127.0.0.2', 'fe80::1', '::1']) expect(checkAddress(a, p).ok, a).toBe(false)
  })
})

describe('checking a webhook address before it is saved', () => {
  const resolver = (table: Record<string, string[]>) => async (name: string) => {
    const as = table[name]
    if (!as) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
    return as.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  const dns = resolver({
    'hooks.example.org': ['93.184.215.14', '2606:2800:21f:cb07::1'],
    'rebind.example.org': ['93.184.215.14', '127.0.0.1'],
    'internal.example.org': ['10.0.0.7'],
  })

  it('refuses each internal class with the reason and how to allow it', async () => {
    for (const [url, words] of [
      ['http://127.0.0.1:5432/', /127\.0\.0\.1 is a loopback address/],
      ['http://2130706433/', /127\.0\.0\.1 is a loopback address/],
      ['http://[::ffff:127.0.0.1]/', /loopback/],
      ['http://localhost./x', /loopback/],
      ['http://192.168.0.10/', /private-network/],
      ['http://[fd00::1]/', /private-network/],
      ['http://169.254.169.254/latest', /cloud metadata/],
      ['http://[fe80::1]/', /link-local/],
      ['http://100.64.1.1/', /carrier-grade NAT/],
      ['http://0.0.0.0/', /unspecified/],
      ['http://239.1.1.1/', /multicast/],
    ] as const) {
      const p = await webhookTargetProblem(WebhookUrl.parse(url), STRICT, dns)
      expect(p, url).toMatch(words)
      expect(p, url).toContain('FM_WEBHOOK_ALLOW_PRIVATE')
    }
  })

  it('resolves a name and refuses it when any of its addresses is internal', async () => {
    expect(await webhookTargetProblem('https://hooks.example.org/x', STRICT, dns)).toBeNull()
    expect(await webhookTargetProblem('https://internal.example.org/x', STRICT, dns)).toMatch(
      /^internal\.example\.org resolves to a private-network address: .*FM_WEBHOOK_ALLOW_PRIVATE=1/,
    )
    expect(await webhookTargetProblem('https://rebind.example.org/x', STRICT, dns)).toMatch(/resolves to a loopback/)
    expect(await webhookTargetProblem('https://nowhere.example.org/x', STRICT, dns)).toMatch(/no such host/)
    // the opt-in lets the internal one through
    expect(await webhookTargetProblem('https://internal.example.org/x', parseAllowPolicy('1'), dns)).toBeNull()
    expect(await webhookTargetProblem('http://127.0.0.1:9/x', parseAllowPolicy('1'), dns)).toBeNull()
  })

  it('lets a resolver that fails for another reason, or never answers, pass to the check at send time', async () => {
    const failing = async () => {
      throw Object.assign(new Error('try again'), { code: 'EAI_AGAIN' })
    }
    expect(await webhookTargetProblem('https://hooks.example.org/', STRICT, failing)).toBeNull()
    const never = () => new Promise<never>(() => undefined)
    expect(await webhookTargetProblem('https://hooks.example.org/', STRICT, never, 20)).toBeNull()
  })
})
