// The Plan area's state: the document being edited (and the file it came from), the planner's
// latest verdict, and the table's view of it. The last good plan stays while the YAML is broken,
// so a typo never blanks the screen the engineer is reasoning about.
import { flushSync } from 'react-dom';
import { create } from 'zustand';
import type { ConfigIssue, RunConfig } from '../../../../app/config';
import { applyLayout } from '../../../../app/planner/apply';
import type { LayoutPlan, PlanResult } from '../../../../app/planner/types';
import { HostCallError } from '../../../../app/protocol/client';
import { host } from '../../host';
import { layoutKey } from './layout-key';
import {
  createPlannerClient,
  type FirstFrameAt,
  type FramesLate,
  type PlannerClient,
} from './planner-client';
import type { SortKey } from './rows';
import type { PlanReply, SweepPoint, SweepReply } from './worker-protocol';
import { applyEdits, YamlEditError, type FieldEdit } from './yaml-edit';

export interface OpenFile {
  /** Where it is saved; null for an example or a new config that was never saved. */
  path: string | null;
  name: string;
  /** File time when read or last saved: the conflict check compares it with the disk. */
  modifiedAt: number | null;
}

/** An example opens as an unsaved document that keeps the example's name. */
export const exampleFile = (e: { name: string }): OpenFile => ({
  path: null,
  name: e.name,
  modifiedAt: null,
});

export interface Example {
  name: string;
  title: string;
  text: string;
}
export interface RecentFile {
  path: string;
  name: string;
  modifiedAt: number;
}

export type { SortKey };
export type Dialog = null | { kind: 'open' } | { kind: 'save-as' } | { kind: 'import' };

/** Set by the editor component so edits from controls go through Monaco (undoable, cursor kept). */
export interface EditorBridge {
  replaceText(text: string): void;
  setDocument(text: string): void;
  focus(): void;
}

export { layoutKey };

interface PlanState {
  /** A document is open (false only before the first one arrives: the empty state). */
  opened: boolean;
  text: string;
  file: OpenFile | null;
  /** Text as last opened or saved; the document is dirty when `text` differs. */
  savedText: string;
  /** Ids of the latest plan request and of the reply on screen. */
  requestSeq: number;
  shownSeq: number;
  /** The first edit since the table last caught up with the editor (performance.now()). */
  pendingSince: number | null;
  /**
   * For the table to measure edit → updated table once it has committed; `framesLate`: frames
   * drawn after the edit before the one showing this answer; `firstFrameAt`: when the first frame
   * after the edit began (both null where the page cannot tell).
   */
  settled: {
    seq: number;
    since: number;
    framesLate: FramesLate;
    firstFrameAt: FirstFrameAt;
  } | null;
  issues: ConfigIssue[];
  hints: ConfigIssue[];
  planError: string | null;
  workerError: string | null;
  /** The document as data for the quick controls (last one that was valid YAML). */
  raw: unknown;
  /** Whether the controls may edit the text (it parses as YAML). */
  editable: boolean;
  config: RunConfig | null;
  plan: PlanResult | null;
  /** The pinned layout, evaluated, when the plan lists none (see hints.ts pinnedChoice). */
  explain: LayoutPlan | null;
  /** Config the plan on screen was made from (sweeps and "Use this layout" work on it). */
  planConfig: RunConfig | null;
  planMs: { parse: number; plan: number } | null;
  selectedKey: string | null;
  sort: { key: SortKey; dir: 'asc' | 'desc' };
  showInfeasible: boolean;
  sweep: { key: string; seqLen: number; points: SweepPoint[]; maxSeq: number | null } | null;
  sweepRequest: { seq: number; key: string; seqLen: number } | null;
  sweepError: string | null;
  controlError: string | null;

  recent: RecentFile[];
  examples: Example[];
  dialog: Dialog;
  notice: { kind: 'error' | 'info' | 'conflict'; text: string } | null;
  busy: boolean;

  setText(text: string, at?: number): void;
  editFields(edits: FieldEdit[]): boolean;
  useLayout(layout: LayoutPlan): void;
  select(key: string | null): void;
  setSort(key: SortKey): void;
  toggleInfeasible(): void;
  requestSweep(): void;
  openDocument(text: string, file: OpenFile | null, savedText?: string): void;
  openPath(path: string): Promise<boolean>;
  save(opts?: { path?: string; force?: boolean }): Promise<boolean>;
  loadLists(): Promise<void>;
  setDialog(d: Dialog): void;
  dismissNotice(): void;
}

/** Sequence lengths of the sweep chart: powers of two from 4k to 4M, plus the configured one. */
export function sweepLengths(seqLen: number): number[] {
  const out = new Set<number>();
  for (let p = 12; p <= 22; p++) out.add(2 ** p);
  out.add(seqLen);
  return [...out].sort((a, b) => a - b);
}

let editor: EditorBridge | null = null;
export const setEditorBridge = (b: EditorBridge | null) => {
  editor = b;
};
export const focusEditor = () => editor?.focus();

let client: PlannerClient | null = null;
function planner(): PlannerClient {
  client ??= createPlannerClient({
    // The table must show the answer in the same task that received it: a plain store update
    // from a message event would be rendered by React's scheduler in a later task, queued behind
    // whatever the editor has scheduled meanwhile.
    onPlan: (r, late, firstFrameAt) =>
      flushSync(() => usePlan.getState().onPlanReply(r, late, firstFrameAt)),
    onSweep: (r) => usePlan.getState().onSweepReply(r),
    // The client starts a fresh worker; what was in flight is gone, so stop waiting for it.
    onCrash: (message) =>
      usePlan.setState((s) => ({
        workerError: message,
        shownSeq: s.requestSeq,
        pendingSince: null,
      })),
  });
  return client;
}

const DRAFT_KEY = 'spindle.plan.draft';
function saveDraft(text: string, file: OpenFile | null, savedText: string) {
  try {
    localStorage.setItem(DRAFT_KEY, JSON.stringify({ text, file, savedText }));
  } catch {
    // Storage full or disabled: the draft is a convenience, the file on disk is the record.
  }
}
export function loadDraft(): { text: string; file: OpenFile | null; savedText: string } | null {
  try {
    const d = JSON.parse(localStorage.getItem(DRAFT_KEY) ?? 'null') as {
      text?: unknown;
      file?: OpenFile | null;
      savedText?: unknown;
    } | null;
    if (d && typeof d.text === 'string' && typeof d.savedText === 'string')
      return { text: d.text, file: d.file ?? null, savedText: d.savedText };
  } catch {
    // A corrupt draft is dropped.
  }
  return null;
}
let draftTimer: ReturnType<typeof setTimeout> | null = null;

const NONE: ConfigIssue[] = [];
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

type Internal = PlanState & {
  onPlanReply(r: PlanReply, late?: FramesLate, firstFrameAt?: FirstFrameAt): void;
  onSweepReply(r: SweepReply): void;
};

export const usePlan = create<Internal>((set, get) => ({
  opened: false,
  text: '',
  file: null,
  savedText: '',
  requestSeq: 0,
  shownSeq: 0,
  pendingSince: null,
  settled: null,
  issues: [],
  hints: [],
  planError: null,
  workerError: null,
  raw: undefined,
  editable: false,
  config: null,
  plan: null,
  explain: null,
  planConfig: null,
  planMs: null,
  selectedKey: null,
  sort: { key: 'rank', dir: 'asc' },
  showInfeasible: false,
  sweep: null,
  sweepRequest: null,
  sweepError: null,
  controlError: null,
  recent: [],
  examples: [],
  dialog: null,
  notice: null,
  busy: false,

  setText(text, at = performance.now()) {
    const seq = planner().plan(text);
    set((s) => ({ text, requestSeq: seq, pendingSince: s.pendingSince ?? at, controlError: null }));
    if (draftTimer) clearTimeout(draftTimer);
    draftTimer = setTimeout(() => {
      const s = get();
      saveDraft(s.text, s.file, s.savedText);
    }, 300);
  },

  onPlanReply(r, late = null, firstFrameAt = null) {
    const s = get();
    if (r.seq <= s.shownSeq) return; // an older answer overtaken by a newer one
    const latest = r.seq === s.requestSeq;
    // Measured for edits of a planned document; the first plan of a newly opened one includes
    // starting the worker, which is not what the edit-to-table budget is about.
    const settled =
      latest && s.pendingSince !== null && s.plan !== null && r.ok
        ? { seq: r.seq, since: s.pendingSince, framesLate: late, firstFrameAt }
        : s.settled;
    // The first half of the budget: edit -> answer back on the page (worker time + waiting for the thread).
    if (settled && settled.seq === r.seq)
      performance.measure('spindle.plan.reply', { start: settled.since });
    const timing = {
      shownSeq: r.seq,
      pendingSince: latest ? null : s.pendingSince,
      settled,
      planMs: r.ms,
    };
    if (r.ok) {
      const keys = new Set(r.plan.layouts.map(layoutKey));
      set({
        ...timing,
        // Keep the same empty arrays across replies: the editor re-marks only on a real change.
        issues: s.issues.length ? NONE : s.issues,
        hints: r.hints.length || s.hints.length ? r.hints : s.hints,
        explain: r.explain,
        planError: null,
        workerError: null,
        raw: r.config,
        editable: true,
        config: r.config,
        plan: r.plan,
        planConfig: r.config,
        // Keep the selection across edits while that layout still exists.
        selectedKey: s.selectedKey && keys.has(s.selectedKey) ? s.selectedKey : null,
      });
    } else {
      set({
        ...timing,
        issues: r.issues,
        hints: s.hints.length ? NONE : s.hints,
        planError: r.planError ?? null,
        raw: r.raw === undefined ? s.raw : r.raw,
        editable: r.raw !== undefined,
        config: r.config ?? null,
      });
    }
  },

  onSweepReply(r) {
    const req = get().sweepRequest;
    if (!req || r.seq !== req.seq) return;
    if (r.ok)
      set({
        sweep: { key: req.key, seqLen: req.seqLen, points: r.points, maxSeq: r.maxSeq },
        sweepError: null,
      });
    else set({ sweepError: r.message });
  },

  requestSweep() {
    const { plan, planConfig, selectedKey } = get();
    const layout = selectedLayout(plan, selectedKey);
    if (!plan || !planConfig || !layout) return;
    // Sent for every new plan too: the sweep depends on the whole config (model, GPU, batch).
    const seq = planner().sweep(planConfig, layout, sweepLengths(plan.seq_len));
    set({ sweepRequest: { seq, key: layoutKey(layout), seqLen: plan.seq_len }, sweepError: null });
  },

  editFields(edits) {
    const { text } = get();
    let next: string;
    try {
      next = applyEdits(text, edits);
    } catch (e) {
      set({ controlError: e instanceof YamlEditError ? e.message : errorText(e) });
      return false;
    }
    if (next === text) return true;
    if (editor) editor.replaceText(next);
    else get().setText(next);
    return true;
  },

  useLayout(layout) {
    const config = get().planConfig;
    if (!config) return;
    // The planner's own write-back decides the values (and refuses a layout whose dp does not
    // match the cluster); the YAML gets them field by field so its comments and order stay.
    let p: RunConfig['parallel'];
    try {
      p = applyLayout(config, layout).parallel;
    } catch (e) {
      set({ notice: { kind: 'error', text: errorText(e) } });
      return;
    }
    const ok = get().editFields([
      { path: ['parallel', 'ulysses'], value: p.ulysses },
      { path: ['parallel', 'ring'], value: p.ring },
      { path: ['parallel', 'zero'], value: p.zero },
      { path: ['parallel', 'checkpointing'], value: p.checkpointing },
      { path: ['parallel', 'offload', 'optimizer'], value: p.offload.optimizer },
      { path: ['parallel', 'offload', 'params'], value: p.offload.params },
      { path: ['parallel', 'offload', 'activations'], value: p.offload.activations },
      { path: ['parallel', 'chunks'], value: p.chunks },
    ]);
    if (ok)
      set({
        selectedKey: layoutKey(layout),
        notice: {
          kind: 'info',
          text: `Layout ${layout.ulysses} × ${layout.ring} × ${layout.dp} written to the config.`,
        },
      });
  },

  select: (selectedKey) => set({ selectedKey }),
  setSort: (key) =>
    set((s) => ({
      sort:
        s.sort.key === key
          ? { key, dir: s.sort.dir === 'asc' ? 'desc' : 'asc' }
          : { key, dir: DEFAULT_DIR[key] },
    })),
  toggleInfeasible: () => set((s) => ({ showInfeasible: !s.showInfeasible })),

  openDocument(text, file, savedText = text) {
    // A different document: its plan is not the old one's, so start from a loading state.
    set({
      opened: true,
      file,
      savedText,
      plan: null,
      planConfig: null,
      config: null,
      explain: null,
      issues: NONE,
      hints: NONE,
      planError: null,
      selectedKey: null,
      sweep: null,
      sweepRequest: null,
      raw: undefined,
      editable: false,
      notice: null,
    });
    editor?.setDocument(text);
    get().setText(text);
    saveDraft(text, file, savedText);
  },

  async openPath(path) {
    set({ busy: true });
    try {
      const r = await host.request('files.read', { path });
      set({ dialog: null });
      get().openDocument(r.text, {
        path: r.path,
        name: r.path.split(/[\\/]/).pop() ?? r.path,
        modifiedAt: r.modifiedAt,
      });
      void get().loadLists();
      return true;
    } catch (e) {
      set({ notice: { kind: 'error', text: `Could not open ${path}: ${errorText(e)}` } });
      return false;
    } finally {
      set({ busy: false });
    }
  },

  async save(opts = {}) {
    const { file, text } = get();
    const path = opts.path ?? file?.path;
    if (!path) {
      set({ dialog: { kind: 'save-as' } });
      return false;
    }
    const sameFile = path === file?.path;
    set({ busy: true });
    try {
      const r = await host.request('files.write', {
        path,
        text,
        expectModifiedAt: sameFile ? (file?.modifiedAt ?? undefined) : undefined,
        force: opts.force ?? false,
      });
      const name = r.path.split(/[\\/]/).pop() ?? r.path;
      set({
        file: { path: r.path, name, modifiedAt: r.modifiedAt },
        savedText: text,
        dialog: null,
        notice: { kind: 'info', text: `Saved ${r.path}` },
      });
      saveDraft(text, get().file, text);
      void get().loadLists();
      return true;
    } catch (e) {
      if (e instanceof HostCallError && e.field === 'expectModifiedAt') {
        set({ notice: { kind: 'conflict', text: e.message } });
      } else {
        set({ notice: { kind: 'error', text: `Could not save: ${errorText(e)}` } });
      }
      return false;
    } finally {
      set({ busy: false });
    }
  },

  async loadLists() {
    const [recent, examples] = await Promise.allSettled([
      host.request('files.recent', {}),
      host.request('files.examples', {}),
    ]);
    set((s) => ({
      recent: recent.status === 'fulfilled' ? recent.value : s.recent,
      examples: examples.status === 'fulfilled' ? examples.value : s.examples,
    }));
  },

  // A dialog starts clean: an old notice would otherwise show up inside it as if it were new.
  setDialog: (dialog) => set(dialog ? { dialog, notice: null } : { dialog }),
  dismissNotice: () => set({ notice: null }),
}));

const DEFAULT_DIR: Record<SortKey, 'asc' | 'desc'> = {
  rank: 'asc',
  layout: 'asc',
  zero: 'asc',
  checkpointing: 'asc',
  offload: 'asc',
  chunks: 'asc',
  memory: 'asc',
  step: 'asc',
  tokens: 'desc',
  mfu: 'desc',
};

export function selectedLayout(plan: PlanResult | null, key: string | null): LayoutPlan | null {
  if (!plan) return null;
  if (key) {
    const l = plan.layouts.find((x) => layoutKey(x) === key);
    if (l) return l;
  }
  return plan.best !== null ? plan.layouts[plan.best] : (plan.layouts[0] ?? null);
}

export const isDirty = (s: Pick<PlanState, 'text' | 'savedText'>) => s.text !== s.savedText;
