// How a knowledge passage is named: its document and its section. A markdown document's H1 is both
// its title and the first step of every section path ("Tabu search › Pitfalls"), so the title is
// said once, not "Tabu search › Tabu search › Pitfalls".

/** The section path without the document's own title in front; null when nothing is left. */
export function sectionOf(docTitle: string, heading: string | null): string | null {
  if (!heading) return null
  if (heading === docTitle) return null
  const lead = `${docTitle} › `
  return heading.startsWith(lead) ? heading.slice(lead.length) || null : heading
}

/** "Document › section", the document's title once. */
export function chunkTitle(docTitle: string, heading: string | null, separator = ' › '): string {
  const section = sectionOf(docTitle, heading)
  return section ? `${docTitle}${separator}${section}` : docTitle
}
