/** A one-line progress display on stderr (a TTY gets a redrawn line, a log gets milestones). */
export function progressLine(label: string): (fraction: number, detail?: string) => void {
  let lastPct = -1;
  return (fraction, detail = '') => {
    const pct = Math.floor(fraction * 100);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${label}: ${pct.toString().padStart(3)}% ${detail}   `);
      if (fraction >= 1) process.stderr.write('\n');
    } else if (pct >= lastPct + 10 || (fraction >= 1 && lastPct < 100)) {
      lastPct = pct;
      process.stderr.write(`${label}: ${pct}% ${detail}\n`);
    }
  };
}
