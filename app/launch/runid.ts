// Run ids: readable (name and UTC start time), sortable, and unique with a random suffix the
// caller supplies (app/ has no randomness source of its own to keep it pure).

export function makeRunId(name: string, at: Date, suffix: string): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getUTCFullYear()}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}-${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48);
  return `${safe}-${stamp}-${suffix.replace(/[^a-z0-9]/gi, '').slice(0, 8)}`;
}

export const RUN_ID = /^[A-Za-z0-9._-]{1,100}$/;
