// Following runs: one RunTrace per watched run, fed by the resumable runs.events stream. After a
// dropped link or a host restart it re-subscribes from the next event index it lacks, so no step
// is lost or counted twice. Views share traces and re-render at most every NOTIFY_MS.
import { useEffect, useState } from 'react';
import { host, hostLink } from '../../host';
import { RunTrace } from './run-trace';

export { RunTrace, METRICS, measuredBytes, type Metric, type RankMemory } from './run-trace';

interface Watched {
  trace: RunTrace;
  refs: number;
  listeners: Set<() => void>;
  stop: () => void;
}

const watched = new Map<string, Watched>();
let weight = 0;

/** The smoothing weight for every trace (the slider). */
export function setSmoothingWeight(w: number): void {
  weight = w;
  for (const w2 of watched.values()) {
    w2.trace.table.setWeight(w);
    w2.trace.version++;
    w2.listeners.forEach((l) => l());
  }
}

/** How often the charts hear about new events: often enough for ≤ 1 s latency, calm for React. */
const NOTIFY_MS = 100;

function follow(id: string, w: Watched): () => void {
  let unsubscribe: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let lastNotify = 0;
  const fire = () => {
    timer = null;
    lastNotify = Date.now();
    w.trace.version++;
    w.listeners.forEach((l) => l());
  };
  // Leading and trailing: the first event after a quiet spell is drawn at once (a point on the
  // chart within the second), a burst (replayed history) costs one render per NOTIFY_MS.
  const notify = () => {
    if (timer) return;
    const wait = NOTIFY_MS - (Date.now() - lastNotify);
    if (wait <= 0) fire();
    else timer = setTimeout(fire, wait);
  };
  const subscribe = () => {
    unsubscribe?.();
    unsubscribe = host.subscribe(
      'runs.events',
      { id, from: w.trace.nextIndex },
      ({ index, event }) => {
        if (w.trace.apply(index, event)) notify();
      },
      () => {
        // Ended: the run is over and fully delivered, or the link dropped (the state listener
        // below picks it up again from nextIndex once the host is back).
        unsubscribe = null;
      },
    );
  };
  const stopLink = hostLink.onState((s) => {
    if (stopped) return;
    if (s === 'connected' && !unsubscribe) subscribe();
  });
  return () => {
    stopped = true;
    stopLink();
    unsubscribe?.();
    if (timer) clearTimeout(timer);
  };
}

/** Start (or share) following a run's events; returns the release function. */
export function watchRun(id: string): { trace: RunTrace; release: () => void } {
  let w = watched.get(id);
  if (!w) {
    const fresh: Watched = {
      trace: new RunTrace(id, weight),
      refs: 0,
      listeners: new Set(),
      stop: () => {},
    };
    watched.set(id, fresh);
    fresh.stop = follow(id, fresh);
    w = fresh;
  }
  w.refs++;
  const entry = w;
  return {
    trace: entry.trace,
    release: () => {
      // Kept a while after the last view leaves, so flipping between runs is instant.
      if (--entry.refs > 0) return;
      setTimeout(() => {
        if (entry.refs === 0 && watched.get(id) === entry) {
          entry.stop();
          watched.delete(id);
        }
      }, 30_000);
    },
  };
}

/** Forget a run's data (its record was deleted). */
export function dropTrace(id: string): void {
  const w = watched.get(id);
  if (!w) return;
  w.stop();
  watched.delete(id);
}

/**
 * The traces of the given runs, followed while the component is mounted. The component re-renders
 * on new events (at most every NOTIFY_MS); read `trace.version` to memoise on them.
 */
export function useTraces(ids: string[]): RunTrace[] {
  const key = ids.join('\n');
  const [, setTick] = useState(0);
  useEffect(() => {
    const list = key ? key.split('\n') : [];
    const bump = () => setTick((t) => t + 1);
    const held = list.map((id) => {
      const h = watchRun(id);
      const w = watched.get(id)!;
      w.listeners.add(bump);
      return { ...h, w };
    });
    // The traces exist now: show them.
    bump();
    return () => {
      for (const h of held) {
        h.w.listeners.delete(bump);
        h.release();
      }
    };
  }, [key]);
  return ids.map((id) => watched.get(id)?.trace).filter((t): t is RunTrace => !!t);
}
