// Each console page's title (the browser tab, a screen reader's first words, the history list):
// every page had "FM Agent" alone, so tabs and history entries could not be told apart.

const SECTIONS: Record<string, string> = {
  runs: 'Runs',
  problems: 'Problems',
  knowledge: 'Knowledge',
  workers: 'Workers',
  settings: 'Settings',
}

const RUN_TABS: Record<string, string> = {
  candidates: 'Candidates',
  lineage: 'Lineage',
  guidance: 'Guidance',
  notifications: 'Notifications',
}

const KNOWLEDGE_PAGES: Record<string, string> = {
  new: 'New document',
  doc: 'Document',
  lessons: 'Lessons',
  model: 'Embedding model',
  usefulness: 'Usefulness',
}

/** The title of the console page at `path`, most specific first. */
export function pageTitle(path: string): string {
  const [section, second, third, fourth, fifth] = path.split('/').filter(Boolean)
  const parts: string[] = []
  if (section === 'runs' && second === 'new') parts.push('New run')
  else if (section === 'runs' && second === 'compare') parts.push('Compare runs')
  else if (section === 'runs' && second) {
    const run = `Run ${second.slice(0, 8)}`
    if (third === 'candidates' && fourth)
      parts.push(`${fifth === 'edit' ? 'Edit candidate' : 'Candidate'} ${fourth.slice(0, 8)}`, run)
    else parts.push(...(third && RUN_TABS[third] ? [RUN_TABS[third]] : []), run)
  } else if (section === 'knowledge' && second && KNOWLEDGE_PAGES[second]) parts.push(KNOWLEDGE_PAGES[second])
  else if (section === 'settings' && second === 'audit') parts.push('Audit log')
  else if (section && SECTIONS[section]) parts.push(SECTIONS[section])
  return [...parts, 'FM Agent'].join(' · ')
}
