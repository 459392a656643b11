// Concurrent controls of interventions. While an expert's hint (or retrieved knowledge) is active
// in a prompt's scope, each prompt is made without it with probability `share`, drawn from the
// run's seeded RNG: the prompts made without it over the same period are the control group its
// effect is measured against (server/steering/intervention-effect.ts). Pure.
import type { Rng } from './rng.ts'

/** Splits the active interventions of one prompt: each is withheld independently with probability `share`. */
export function withholdForControl<T>(items: readonly T[], share: number, rng: Rng): { given: T[]; withheld: T[] } {
  const given: T[] = []
  const withheld: T[] = []
  // no draw when there is nothing to withhold: a run without interventions keeps its random sequence
  for (const item of items) (share > 0 && rng.chance(share) ? withheld : given).push(item)
  return { given, withheld }
}
