// zod 4 probes whether it may compile parsers with `new Function` (its JIT). Under the console's
// Content-Security-Policy (no 'unsafe-eval') the probe is refused and the browser reports a CSP
// violation on every page that parses with zod. Telling zod not to try keeps the report clean;
// parsing in the browser is small, the interpreter is fast enough.
import { z } from 'zod'

z.config({ jitless: true })
