// Human units for reasons and tables: binary GiB for memory (what nvidia-smi and torch report),
// milliseconds or seconds for time.

export function formatBytes(bytes: number): string {
  const gib = bytes / 2 ** 30;
  if (Math.abs(gib) >= 100) return `${gib.toFixed(0)} GiB`;
  if (Math.abs(gib) >= 1) return `${gib.toFixed(1)} GiB`;
  const mib = bytes / 2 ** 20;
  if (Math.abs(mib) >= 1) return `${mib.toFixed(0)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${(s * 1000).toFixed(s >= 0.01 ? 0 : 2)} ms`;
}

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

/** Sequence lengths read best in powers of two when they are one: 131072 -> "128k". */
export function formatTokens(n: number): string {
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}k`;
  return String(n);
}
