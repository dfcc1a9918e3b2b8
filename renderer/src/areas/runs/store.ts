// The Runs area's state: the run index as the host pushes it, the launch draft and its progress,
// which runs are shown and compared, and the chart settings. Outside the components so a launch
// keeps going (and its progress stays) while the user looks at another area.
//
// Other areas hand a config over with `useRuns.getState().launchFromPlan(yaml)`.
import { create } from 'zustand';
import { parseConfigText } from '../../../../app/config';
import type { LaunchPlan, RunSummary } from '../../../../app/protocol/runs';
import type { NodeEntry, ProgressEvent } from '../../../../app/protocol/nodes';
import type { XAxis } from '../../../../app/series';
import { host, hostLink } from '../../host';
import { useApp } from '../../state/app';
import { dropTrace, setSmoothingWeight } from './trace';
import type { StatusFilter } from './model';

export { ACTIVE, isActive, filterRuns, type StatusFilter } from './model';

export type Target = 'local' | string[];

export interface Draft {
  configYaml: string;
  /** Where the text came from: "Plan", an example's title, "Pasted", or a run it relaunches. */
  origin: string;
}

export interface LaunchState {
  state: 'idle' | 'launching' | 'failed';
  /** The latest event of each (step, node), in the order steps first appeared. */
  steps: ProgressEvent[];
  error: string | null;
  startedAt: number | null;
}

export interface PreviewState {
  state: 'idle' | 'loading' | 'ready' | 'error';
  plan: LaunchPlan | null;
  error: string | null;
  /** The draft and target the preview was made for; a change makes it stale. */
  forKey: string;
}

interface Prefs {
  axis: XAxis;
  smoothing: number;
  showRaw: boolean;
}

interface RunsState extends Prefs {
  runs: RunSummary[];
  listState: 'idle' | 'loading' | 'ready' | 'error';
  listError: string | null;
  nodes: NodeEntry[];
  selected: string | null;
  mode: 'run' | 'launch';
  compare: string[];
  filter: string;
  statusFilter: StatusFilter;
  draft: Draft;
  target: Target;
  preview: PreviewState;
  launch: LaunchState;
  actionError: string | null;

  start(): void;
  launchFromPlan(configYaml: string): void;
  setDraft(d: Draft): void;
  setTarget(t: Target): void;
  newRun(): void;
  select(id: string | null): void;
  toggleCompare(id: string): void;
  clearCompare(): void;
  setFilter(text: string): void;
  setStatusFilter(f: StatusFilter): void;
  setAxis(a: XAxis): void;
  setSmoothing(w: number): void;
  setShowRaw(v: boolean): void;
  previewLaunch(): Promise<void>;
  launchDraft(): void;
  stop(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  dismissError(): void;
}

const PREFS_KEY = 'spindle.runs.prefs';
function loadPrefs(): Prefs {
  const d: Prefs = { axis: 'step', smoothing: 0.6, showRaw: true };
  try {
    const p = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<Prefs>;
    return {
      axis: p.axis === 'time' || p.axis === 'tokens' || p.axis === 'step' ? p.axis : d.axis,
      smoothing:
        typeof p.smoothing === 'number' && p.smoothing >= 0 && p.smoothing < 1
          ? p.smoothing
          : d.smoothing,
      showRaw: typeof p.showRaw === 'boolean' ? p.showRaw : d.showRaw,
    };
  } catch {
    return d;
  }
}

/** Where a config runs unless the user says otherwise: the hosts it names, else this computer. */
export function targetOf(configYaml: string): Target {
  const p = parseConfigText(configYaml);
  return p.ok && p.config.launch.target === 'ssh' && p.config.launch.hosts.length
    ? p.config.launch.hosts
    : 'local';
}

export const targetKey = (draft: Draft, target: Target) =>
  `${target === 'local' ? 'local' : target.join(',')}\n${draft.configYaml}`;

let following = false;

export const useRuns = create<RunsState>((set, get) => {
  const prefs = loadPrefs();
  setSmoothingWeight(prefs.smoothing);
  const savePrefs = () => {
    const { axis, smoothing, showRaw } = get();
    localStorage.setItem(PREFS_KEY, JSON.stringify({ axis, smoothing, showRaw }));
  };
  const stalePreview = (): PreviewState => ({ state: 'idle', plan: null, error: null, forKey: '' });

  return {
    ...prefs,
    runs: [],
    listState: 'idle',
    listError: null,
    nodes: [],
    selected: null,
    // 'run' with nothing selected: the first index that arrives opens the latest run, so a
    // restarted studio lands back on it; with no runs at all the launch panel shows.
    mode: 'run',
    compare: [],
    filter: '',
    statusFilter: 'all',
    draft: { configYaml: '', origin: '' },
    target: 'local',
    preview: stalePreview(),
    launch: { state: 'idle', steps: [], error: null, startedAt: null },
    actionError: null,

    start() {
      if (following) return;
      following = true;
      let stopRuns: (() => void) | null = null;
      let stopNodes: (() => void) | null = null;
      // Follow the run index and the node list for the life of the page, again after reconnects.
      hostLink.onState((state) => {
        stopRuns?.();
        stopNodes?.();
        stopRuns = stopNodes = null;
        if (state !== 'connected') return;
        if (get().listState !== 'ready') set({ listState: 'loading' });
        stopRuns = host.subscribe(
          'runs.changes',
          {},
          (runs) => {
            const sorted = [...runs].sort((a, b) => b.startedAt - a.startedAt);
            const { selected, compare, mode } = get();
            const ids = new Set(sorted.map((r) => r.id));
            set({
              runs: sorted,
              listState: 'ready',
              listError: null,
              compare: compare.filter((c) => ids.has(c)),
              selected:
                selected && ids.has(selected)
                  ? selected
                  : mode === 'run'
                    ? (sorted[0]?.id ?? null)
                    : selected,
            });
          },
          (error) => {
            if (error && !/disconnected/i.test(error.message))
              set({ listState: 'error', listError: error.message });
          },
        );
        stopNodes = host.subscribe(
          'nodes.changes',
          {},
          (nodes) => set({ nodes }),
          () => {},
        );
      });
    },

    launchFromPlan(configYaml) {
      set({
        draft: { configYaml, origin: 'Plan' },
        mode: 'launch',
        preview: stalePreview(),
        target: targetOf(configYaml),
      });
      useApp.getState().setArea('runs');
    },

    setDraft(draft) {
      set({ draft, preview: stalePreview() });
    },
    setTarget(target) {
      set({ target, preview: stalePreview() });
    },
    newRun() {
      set({ mode: 'launch' });
    },
    select(id) {
      set({
        selected: id,
        mode: id ? 'run' : 'launch',
        compare: get().compare.filter((c) => c !== id),
      });
    },
    toggleCompare(id) {
      const { compare, selected } = get();
      if (id === selected) return;
      set({ compare: compare.includes(id) ? compare.filter((c) => c !== id) : [...compare, id] });
    },
    clearCompare: () => set({ compare: [] }),
    setFilter: (filter) => set({ filter }),
    setStatusFilter: (statusFilter) => set({ statusFilter }),
    setAxis(axis) {
      set({ axis });
      savePrefs();
    },
    setSmoothing(smoothing) {
      set({ smoothing });
      setSmoothingWeight(smoothing);
      savePrefs();
    },
    setShowRaw(showRaw) {
      set({ showRaw });
      savePrefs();
    },

    async previewLaunch() {
      const { draft, target } = get();
      const forKey = targetKey(draft, target);
      set({ preview: { state: 'loading', plan: null, error: null, forKey } });
      try {
        const plan = await host.request('runs.dryRun', { configYaml: draft.configYaml, target });
        if (get().preview.forKey === forKey)
          set({ preview: { state: 'ready', plan, error: null, forKey } });
      } catch (e) {
        if (get().preview.forKey === forKey)
          set({ preview: { state: 'error', plan: null, error: (e as Error).message, forKey } });
      }
    },

    launchDraft() {
      const { draft, target, launch } = get();
      if (launch.state === 'launching') return;
      set({ launch: { state: 'launching', steps: [], error: null, startedAt: Date.now() } });
      let started = false;
      const patchSteps = (p: ProgressEvent) => {
        const steps = [...get().launch.steps];
        const i = steps.findIndex((s) => s.step === p.step && s.node === p.node);
        if (i >= 0) steps[i] = p;
        else steps.push(p);
        set({ launch: { ...get().launch, steps } });
      };
      // The host carries a launch through even if this page goes away; the stream is only for
      // watching it, so there is nothing to cancel here (a started run is stopped like any other).
      host.subscribe(
        'runs.launch',
        { configYaml: draft.configYaml, target },
        (e) => {
          if (e.type === 'progress') patchSteps(e.progress);
          else if (e.type === 'started') {
            started = true;
            const runs = get().runs.some((r) => r.id === e.run.id)
              ? get().runs
              : [e.run, ...get().runs];
            set({
              runs,
              selected: e.run.id,
              mode: 'run',
              launch: { ...get().launch, state: 'idle' },
            });
          } else {
            set({ launch: { ...get().launch, state: 'failed', error: e.message } });
          }
        },
        (error) => {
          if (started) return;
          const l = get().launch;
          if (l.state === 'launching')
            set({
              launch: {
                ...l,
                state: 'failed',
                error: error?.message ?? 'the launch ended without starting the run',
              },
            });
        },
      );
    },

    async stop(id) {
      try {
        const run = await host.request('runs.stop', { id });
        set({ runs: get().runs.map((r) => (r.id === id ? run : r)) });
      } catch (e) {
        set({ actionError: `Could not stop the run: ${(e as Error).message}` });
      }
    },

    async remove(id) {
      try {
        await host.request('runs.delete', { id });
        dropTrace(id);
        const { selected, compare } = get();
        set({
          runs: get().runs.filter((r) => r.id !== id),
          compare: compare.filter((c) => c !== id),
          ...(selected === id ? { selected: null, mode: 'launch' as const } : {}),
        });
      } catch (e) {
        set({ actionError: `Could not delete the run's record: ${(e as Error).message}` });
      }
    },

    dismissError: () => set({ actionError: null }),
  };
});
