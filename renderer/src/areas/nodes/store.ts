// The Nodes area's state: the node list as the host pushes it, probes in flight and their
// outcome, and the open node shells. Kept outside the components so a probe keeps running (and
// a shell keeps its place) while the user looks at another area.
import { create } from 'zustand';
import type { NodeEntry, ProbeResult, ProgressEvent } from '../../../../app/protocol/nodes';
import { host, hostLink } from '../../host';
import { closeTerminal } from '../../components/terminal';

export interface ProbeRun {
  /** "node:<name>" or "cluster:<name>". */
  key: string;
  names: string[];
  cluster: boolean;
  startedAt: number;
  endedAt: number | null;
  /** The latest event of each (node, step), in the order steps first appeared. */
  steps: ProgressEvent[];
  results: Record<string, ProbeResult>;
  /** Cluster checks (reachability, version mismatches); null until the host sends them. */
  warnings: string[] | null;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  error: string | null;
}

export interface Shell {
  node: string;
  /** Bumped to start a fresh session in the same tab after the last one ended. */
  session: number;
  ended: boolean;
}

interface NodesState {
  nodes: NodeEntry[];
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  probes: Record<string, ProbeRun>;
  shells: Shell[];
  activeShell: string | null;
  /** Starts following the node list; safe to call many times. */
  start(): void;
  /** Probe nodes; with `cluster`, as that cluster (reachability and version checks). */
  probe(names: string[], opts?: { cluster?: string; key?: string }): void;
  cancelProbe(key: string): void;
  dismissProbe(key: string): void;
  /** Opens (or shows) a shell tab; a tab whose shell ended gets a fresh one. */
  openShell(node: string): void;
  shellEnded(node: string): void;
  closeShell(node: string): void;
  setActiveShell(node: string): void;
}

/** The terminal session a shell tab shows; sessions outlive the area, so switching away keeps them. */
export const shellKey = (s: Shell) => `nodes:${s.node}:${s.session}`;

export const probeKey = (target: { node: string } | { cluster: string }) =>
  'node' in target ? `node:${target.node}` : `cluster:${target.cluster}`;

const stops = new Map<string, () => void>();
let following = false;

export const useNodes = create<NodesState>((set, get) => {
  const patchRun = (key: string, f: (r: ProbeRun) => Partial<ProbeRun>) =>
    set((s) => {
      const r = s.probes[key];
      return r ? { probes: { ...s.probes, [key]: { ...r, ...f(r) } } } : {};
    });

  return {
    nodes: [],
    status: 'idle',
    error: null,
    probes: {},
    shells: [],
    activeShell: null,

    start() {
      if (following) return;
      following = true;
      let unsubscribe: (() => void) | null = null;
      // Follow the list for the life of the page, re-subscribing after every reconnect.
      hostLink.onState((state) => {
        unsubscribe?.();
        unsubscribe = null;
        if (state !== 'connected') return;
        if (get().status !== 'ready') set({ status: 'loading' });
        unsubscribe = host.subscribe(
          'nodes.changes',
          {},
          (nodes) => set({ nodes, status: 'ready', error: null }),
          (error) => {
            if (error) set({ status: 'error', error: error.message });
          },
        );
      });
    },

    probe(names, opts = {}) {
      const { cluster } = opts;
      const key =
        opts.key ?? (cluster !== undefined ? probeKey({ cluster }) : probeKey({ node: names[0] }));
      stops.get(key)?.();
      const run: ProbeRun = {
        key,
        names,
        cluster: cluster !== undefined,
        startedAt: Date.now(),
        endedAt: null,
        steps: [],
        results: {},
        warnings: null,
        state: 'running',
        error: null,
      };
      set((s) => ({ probes: { ...s.probes, [key]: run } }));
      let ended = false;
      const finish = (state: ProbeRun['state'], error: string | null = null) => {
        if (ended) return;
        ended = true;
        stops.delete(key);
        patchRun(key, () => ({ state, error, endedAt: Date.now() }));
      };
      const unsubscribe = host.subscribe(
        'nodes.probe',
        { names, cluster: cluster !== undefined },
        (e) => {
          if (e.type === 'progress') {
            const p = e.progress;
            patchRun(key, (r) => {
              const i = r.steps.findIndex((x) => x.step === p.step && x.node === p.node);
              return { steps: i < 0 ? [...r.steps, p] : r.steps.map((x, j) => (j === i ? p : x)) };
            });
          } else if (e.type === 'result') {
            const res = e.result;
            patchRun(key, (r) => ({ results: { ...r.results, [res.node]: res } }));
            // Show the outcome in the list at once; the host's own change event follows.
            set((s) => ({
              nodes: s.nodes.map((n) => (n.name === res.node ? { ...n, lastProbe: res } : n)),
            }));
          } else if (e.type === 'cluster') {
            patchRun(key, () => ({ warnings: e.warnings }));
          } else {
            // The host reports a probe that broke as a whole (not one node) as a failed step
            // without a node; nodes left without a result then need that said.
            const r = get().probes[key];
            const broke = r?.steps.find((x) => x.status === 'failed' && !x.node);
            const missing = r ? r.names.some((n) => !r.results[n]) : false;
            if (broke && missing) finish('failed', broke.detail ?? `${broke.step} failed`);
            else finish('done');
            unsubscribe();
          }
        },
        (error) => finish(error ? 'failed' : 'done', error?.message ?? null),
      );
      stops.set(key, () => {
        unsubscribe();
        finish('cancelled');
      });
    },

    cancelProbe(key) {
      stops.get(key)?.();
    },

    dismissProbe(key) {
      stops.get(key)?.();
      set((s) => {
        const probes = { ...s.probes };
        delete probes[key];
        return { probes };
      });
    },

    openShell(node) {
      const old = get().shells.find((x) => x.node === node && x.ended);
      if (old) closeTerminal(shellKey(old));
      set((s) => {
        const had = s.shells.find((x) => x.node === node);
        const shells = had
          ? s.shells.map((x) =>
              x.node === node && x.ended ? { ...x, session: x.session + 1, ended: false } : x,
            )
          : [...s.shells, { node, session: 1, ended: false }];
        return { shells, activeShell: node };
      });
    },
    shellEnded(node) {
      set((s) => ({ shells: s.shells.map((x) => (x.node === node ? { ...x, ended: true } : x)) }));
    },
    closeShell(node) {
      const sh = get().shells.find((x) => x.node === node);
      if (sh) closeTerminal(shellKey(sh));
      set((s) => {
        const shells = s.shells.filter((x) => x.node !== node);
        return {
          shells,
          activeShell:
            s.activeShell === node ? (shells[shells.length - 1]?.node ?? null) : s.activeShell,
        };
      });
    },
    setActiveShell(node) {
      set({ activeShell: node });
    },
  };
});

/** Probes in flight that cover a node (its own, or its cluster's). */
export function runningFor(probes: Record<string, ProbeRun>, node: string): ProbeRun | null {
  return Object.values(probes).find((r) => r.state === 'running' && r.names.includes(node)) ?? null;
}
