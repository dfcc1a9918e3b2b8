// Numbers in the units an ML engineer reads: GiB, ms, tokens/s, %, and sequence lengths in
// binary k/M (131072 is "128k", as model cards write it).
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const abs = Math.abs(bytes);
  if (abs >= 1024 * GiB) return `${(bytes / (1024 * GiB)).toFixed(2)} TiB`;
  if (abs >= 100 * GiB) return `${(bytes / GiB).toFixed(0)} GiB`;
  if (abs >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (abs >= MiB) return `${(bytes / MiB).toFixed(0)} MiB`;
  if (abs >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${bytes.toFixed(0)} B`;
}

export const toGiB = (bytes: number) => bytes / GiB;

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 0.01) return `${(s * 1000).toFixed(0)} ms`;
  if (s >= 0.001) return `${(s * 1000).toFixed(1)} ms`;
  return `${(s * 1e6).toFixed(0)} µs`;
}

/** 1234567 -> "1.23M": three significant figures, SI prefixes (throughput is decimal). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  if (abs >= 1e12) return `${fmt(n / 1e12)}T`;
  if (abs >= 1e9) return `${fmt(n / 1e9)}B`;
  if (abs >= 1e6) return `${fmt(n / 1e6)}M`;
  if (abs >= 1e3) return `${fmt(n / 1e3)}k`;
  return n.toFixed(0);
}

export const formatTokensPerSecond = (n: number) => `${formatCount(n)} tok/s`;

export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Sequence lengths: 4096 -> "4k", 131072 -> "128k", 1048576 -> "1M", 3000 -> "3000". */
export function formatSeqLen(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1 << 20 && n % (1 << 10) === 0)
    return `${(n / (1 << 20)).toFixed(2).replace(/\.?0+$/, '')}M`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)}k`;
  return String(n);
}

/** Like formatSeqLen, but rounds odd lengths for reading: 493672 -> "≈482k". */
export function formatSeqLenApprox(n: number): string {
  const exact = formatSeqLen(n);
  if (exact === String(n) && n >= 10 * 1024)
    return n >= 1 << 20 ? `≈${(n / (1 << 20)).toFixed(2)}M` : `≈${Math.round(n / 1024)}k`;
  return exact;
}

/** "128k", "1M", "1.5M", "131072", "131,072" -> tokens; null when it is not a positive length. */
export function parseSeqLen(input: string): number | null {
  const m = /^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kKmM]?)\s*$/.exec(input);
  if (!m) return null;
  const base = Number(m[1].replace(/[_,]/g, ''));
  const mult = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024;
  const n = Math.round(base * mult);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** Log-scale slider <-> sequence length, snapped to powers of two and their midpoints (3·2^k). */
export const SEQ_MIN = 4096;
export const SEQ_MAX = 4 * 1024 * 1024;
export const SEQ_STEPS: number[] = (() => {
  const out: number[] = [];
  for (let p = Math.log2(SEQ_MIN); p <= Math.log2(SEQ_MAX); p++) {
    out.push(2 ** p);
    if (2 ** p < SEQ_MAX) out.push(3 * 2 ** (p - 1));
  }
  return out;
})();

/** Index of the slider step nearest (in log space) to a length. */
export function nearestSeqStep(n: number): number {
  const x = Math.log2(Math.min(Math.max(n, SEQ_MIN), SEQ_MAX));
  let best = 0;
  for (let i = 1; i < SEQ_STEPS.length; i++)
    if (Math.abs(Math.log2(SEQ_STEPS[i]) - x) < Math.abs(Math.log2(SEQ_STEPS[best]) - x)) best = i;
  return best;
}
