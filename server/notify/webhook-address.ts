// Where a webhook may point. Any signed-in user can save a webhook and press "send a test", and
// the server makes that request from its own network position: without these rules a viewer could
// reach this machine's loopback services, the internal network or a cloud metadata endpoint (SSRF).
// Pure: the address classes, the operator's opt-in (FM_WEBHOOK_ALLOW_PRIVATE) and the words of a
// refusal. Resolution and connecting live in webhook.ts; the same rules apply at save and at send.
import { isIPv4, isIPv6 } from 'node:net'

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'cgnat'
  | 'unspecified'
  | 'multicast'
  | 'reserved'

/** What each refused class is, as a refusal says it. */
const CLASS_WORDS: Record<Exclude<AddressClass, 'public'>, string> = {
  loopback: 'a loopback address (this machine)',
  private: 'a private-network address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  cgnat: 'a shared (carrier-grade NAT) address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast or broadcast address',
  reserved: 'a reserved or special-purpose address',
}

/** Classes FM_WEBHOOK_ALLOW_PRIVATE=1 lets through: internal unicast, never metadata or special ranges. */
const INTERNAL: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'link-local', 'cgnat'])

export const ALLOW_ENV = 'FM_WEBHOOK_ALLOW_PRIVATE'

interface Ip {
  v: 4 | 6
  /** the address as a number: 32 bits (v4) or 128 bits (v6) */
  n: bigint
}

function parseV4(s: string): bigint | null {
  if (!isIPv4(s)) return null
  return s.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n)
}

function parseV6(s: string): bigint | null {
  const bare = s.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  if (!isIPv6(bare)) return null
  let text = bare.toLowerCase()
  // a trailing dotted quad (::ffff:1.2.3.4) is two groups
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (quad) {
    const v4 = parseV4(quad[1]!)
    if (v4 === null) return null
    text = `${text.slice(0, quad.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  if (groups.length !== 8) return null
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n)
}

/** An IP address in any textual form the URL parser or the resolver gives (brackets and zone ids tolerated). */
export function parseIp(s: string): Ip | null {
  const v4 = parseV4(s)
  if (v4 !== null) return { v: 4, n: v4 }
  const v6 = parseV6(s)
  return v6 === null ? null : { v: 6, n: v6 }
}

interface Cidr {
  v: 4 | 6
  base: bigint
  bits: number
}

function cidr(text: string): Cidr | null {
  const [addr, len, extra] = text.trim().split('/')
  if (extra !== undefined || !addr) return null
  const ip = parseIp(addr)
  if (!ip) return null
  const max = ip.v === 4 ? 32 : 128
  const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : Number.NaN
  if (!(bits >= 0 && bits <= max)) return null
  return { v: ip.v, base: ip.n >> BigInt(max - bits), bits }
}

function inCidr(ip: Ip, c: Cidr): boolean {
  const max = ip.v === 4 ? 32 : 128
  return ip.v === c.v && ip.n >> BigInt(max - c.bits) === c.base
}

const table = (rows: Array<[string, AddressClass]>) => rows.map(([c, k]) => ({ c: cidr(c)!, k }))

// Most specific first. IANA's special-purpose registries, and the well-known metadata endpoints.
const V4 = table([
  ['169.254.169.254/32', 'metadata'],
  ['169.254.170.2/32', 'metadata'],
  ['100.100.100.200/32', 'metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
])

const V6 = table([
  ['fd00:ec2::254/128', 'metadata'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'reserved'],
  ['2001::/23', 'reserved'],
  ['2001:db8::/32', 'reserved'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'],
  ['ff00::/8', 'multicast'],
])

const MAPPED = cidr('::ffff:0:0/96')!
const NAT64 = cidr('64:ff9b::/96')!
const SIX_TO_FOUR = cidr('2002::/16')!
const GLOBAL_UNICAST = cidr('2000::/3')!

export function classifyIp(ip: Ip): AddressClass {
  if (ip.v === 4) return V4.find((r) => inCidr(ip, r.c))?.k ?? 'public'
  // forms that carry an IPv4 address reach that address: they are what it is
  if (inCidr(ip, MAPPED) || inCidr(ip, NAT64)) return classifyIp({ v: 4, n: ip.n & 0xffffffffn })
  if (inCidr(ip, SIX_TO_FOUR)) {
    const inner = classifyIp({ v: 4, n: (ip.n >> 80n) & 0xffffffffn })
    if (inner !== 'public') return inner
  }
  const known = V6.find((r) => inCidr(ip, r.c))?.k
  if (known) return known
  // outside 2000::/3 nothing is allocated for global unicast (::/8 holds the deprecated IPv4-compatible form)
  return inCidr(ip, GLOBAL_UNICAST) ? 'public' : 'reserved'
}

export interface AllowPolicy {
  /** loopback, private, link-local and CGNAT addresses are allowed (FM_WEBHOOK_ALLOW_PRIVATE=1) */
  internal: boolean
  /** these ranges are allowed, whatever their class (except unspecified and multicast: never a receiver) */
  ranges: Cidr[]
  /** the variable was set but not understood: nothing extra is allowed, and refusals say why */
  problem: string | null
}

export const STRICT: AllowPolicy = { internal: false, ranges: [], problem: null }

/**
 * The operator's opt-in: unset, "0" or "false" allow nothing internal; "1" or "true" allow
 * internal unicast (metadata endpoints stay refused); a comma-separated list of addresses or
 * CIDRs (10.1.2.0/24, fd00::/8) allows exactly those. Anything else allows nothing (fail closed).
 */
export function parseAllowPolicy(value: string | undefined): AllowPolicy {
  const v = (value ?? '').trim().toLowerCase()
  if (!v || v === '0' || v === 'false' || v === 'no') return STRICT
  if (v === '1' || v === 'true' || v === 'yes') return { internal: true, ranges: [], problem: null }
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 100)
  const ranges = items.map(cidr)
  const bad = items.find((_, i) => !ranges[i])
  if (bad !== undefined || !ranges.length)
    return {
      ...STRICT,
      problem: `${ALLOW_ENV}=${JSON.stringify(value?.slice(0, 100))} is not understood (expected 1, or addresses and CIDRs such as 10.1.2.0/24,fd00::/8), so it allows nothing`,
    }
  return { internal: false, ranges: ranges as Cidr[], problem: null }
}

export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): AllowPolicy {
  return parseAllowPolicy(env[ALLOW_ENV])
}

/** Whether the policy lets a message go to this address; the class refused otherwise. */
export function checkAddress(address: string, policy: AllowPolicy): { ok: true } | { ok: false; cls: AddressClass } {
  const ip = parseIp(address)
  if (!ip) return { ok: false, cls: 'reserved' }
  const cls = classifyIp(ip)
  if (cls === 'public') return { ok: true }
  if (cls !== 'unspecified' && cls !== 'multicast' && policy.ranges.some((r) => inCidr(ip, r))) return { ok: true }
  if (policy.internal && INTERNAL.has(cls)) return { ok: true }
  return { ok: false, cls }
}

/**
 * The URL parser's host, as something to check: an address (IPv4 in any of its forms is already
 * dotted by the WHATWG parser: 2130706433 and 0x7f.1 arrive as 127.0.0.1), or a name to resolve.
 * "localhost" and *.localhost are loopback by definition (RFC 6761): no resolver is asked.
 */
export function hostTarget(hostname: string): { address: string } | { name: string } {
  const h = hostname.replace(/^\[|\]$/g, '')
  if (parseIp(h)) return { address: h }
  const name = h.toLowerCase().replace(/\.+$/, '')
  return name === 'localhost' || name.endsWith('.localhost') ? { address: '127.0.0.1' } : { name }
}

/** The words of a refusal: what the address is, and how an operator allows internal receivers. */
export function refusal(host: string, cls: AddressClass, policy: AllowPolicy, resolved: boolean): string {
  const what = CLASS_WORDS[cls as Exclude<AddressClass, 'public'>] ?? 'not a public address'
  const head = resolved ? `${host} resolves to ${what}` : `${host} is ${what}`
  const how =
    cls === 'metadata' || cls === 'unspecified' || cls === 'multicast' || cls === 'reserved'
      ? `webhooks never go there unless an operator lists the range in ${ALLOW_ENV}`
      : `webhooks go to public addresses only; an operator can allow internal receivers with ${ALLOW_ENV}=1 (or a list of CIDRs) on the server`
  return `${head}: ${how}${policy.problem ? ` (${policy.problem})` : ''}`
}
