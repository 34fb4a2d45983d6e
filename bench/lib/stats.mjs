/** Shared helpers for the benchmark suites. */

/** The p-th percentile (0..100) of the samples, nearest rank. */
export function percentile(samples, p) {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Prints rows as a plain-text table (stable, easy to paste into a README). */
export function table(rows) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) => `| ${cells.map((cell, i) => String(cell).padEnd(width[i])).join(' | ')} |`;
  console.log(line(columns));
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(columns.map((c) => r[c] ?? '')));
}
