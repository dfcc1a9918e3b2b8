// The Plan area: edit a run config and watch, as you type, which sequence-parallel layouts fit,
// where memory and time go, and how far each layout stretches in sequence length.
import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import { useApp } from '../../state/app';
import { CommChart, MemoryChart, palette, SweepChart } from './charts';
import { ConfigEditor, revealLine } from './editor/ConfigEditor';
import { OpenDialog, SaveAsDialog } from './FileDialogs';
import { HfImportDialog } from './HfImportDialog';
import { LayoutDetail } from './LayoutDetail';
import { LayoutTable, rankedRows, tableRows, type Row } from './LayoutTable';
import type { SortKey } from './rows';
import type { PlanResult } from '../../../../app/planner/types';
import { QuickControls } from './QuickControls';
import {
  exampleFile,
  focusEditor,
  isDirty,
  layoutKey,
  loadDraft,
  selectedLayout,
  usePlan,
} from './store';
import { formatSeconds } from './format';
import './plan.css';
import { useRuns } from '../runs/store';

const CHART_LAYOUTS = 12;
/**
 * The charts redraw once typing has paused this long. Each recharts redraw is tens of
 * milliseconds of main thread; a keystroke that lands during one waits for it, so they must not
 * run between the keys of a burst, only between bursts.
 */
const CHARTS_QUIET_MS = 400;

/** `value`, once it has stopped changing for `ms` (at once the first time it is set). */
function useQuiet<T>(value: T, ms: number): T {
  const [shown, setShown] = useState(value);
  useEffect(() => {
    if (shown === value) return;
    const t = setTimeout(() => setShown(value), shown == null ? 0 : ms);
    return () => clearTimeout(t);
  }, [value, shown, ms]);
  return shown == null ? value : shown;
}

/** Ctrl on Linux/Windows, ⌘ on macOS, for the labels only (both work everywhere). */
const MOD = typeof navigator !== 'undefined' && /Mac/.test(navigator.platform) ? '⌘' : 'Ctrl';

export const SHORTCUTS: [string, string][] = [
  [`${MOD}+O`, 'Open a config (path, recent files, examples)'],
  [`${MOD}+S`, 'Save'],
  [`${MOD}+Shift+S`, 'Save as'],
  ['Alt+E', 'Focus the editor'],
  ['Alt+L', 'Focus the layout table'],
  ['↑ ↓ Home End', 'Move in the table'],
  ['Enter', 'Select the layout'],
  ['U', 'Use the selected layout (writes it into the YAML)'],
  ['Alt+I', 'Import a Hugging Face config.json'],
  ['Ctrl+Space', 'Complete a field in the editor'],
];

function useShortcuts() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const st = usePlan.getState();
      const mod = e.ctrlKey || e.metaKey;
      // Capture phase: these must work while Monaco has focus, where the browser's own Ctrl+S /
      // Ctrl+O would otherwise win.
      if (mod && !e.altKey && e.code === 'KeyS') {
        e.preventDefault();
        e.stopPropagation();
        if (e.shiftKey) st.setDialog({ kind: 'save-as' });
        else void st.save();
      } else if (mod && !e.altKey && !e.shiftKey && e.code === 'KeyO') {
        e.preventDefault();
        e.stopPropagation();
        st.setDialog({ kind: 'open' });
      } else if (
        e.altKey &&
        !mod &&
        !e.shiftKey &&
        (e.code === 'KeyL' || e.code === 'KeyE' || e.code === 'KeyI')
      ) {
        e.preventDefault();
        e.stopPropagation();
        if (e.code === 'KeyL')
          document.querySelector<HTMLElement>('[data-testid=layout-table]')?.focus();
        else if (e.code === 'KeyE') focusEditor();
        else st.setDialog({ kind: 'import' });
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
}

/** First start: the draft from last time, else the Llama example. */
function useInitialDocument() {
  useEffect(() => {
    const st = usePlan.getState();
    if (st.opened) return;
    const draft = loadDraft();
    if (draft) {
      st.openDocument(draft.text, draft.file, draft.savedText);
      void st.loadLists();
      return;
    }
    void st.loadLists().then(() => {
      const s = usePlan.getState();
      if (s.opened) return;
      const first = s.examples.find((e) => /llama/i.test(e.name)) ?? s.examples[0];
      if (first) s.openDocument(first.text, exampleFile(first));
    });
  }, []);
}

/** True while a plan is outstanding for longer than a blink: no "Planning…" flicker per key. */
function useSlowPlanning(): boolean {
  const outstanding = usePlan((s) => s.requestSeq !== s.shownSeq);
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    if (!outstanding) return setSlow(false);
    const t = setTimeout(() => setSlow(true), 250);
    return () => clearTimeout(t);
  }, [outstanding]);
  return outstanding && slow;
}

function FileBar() {
  const file = usePlan((s) => s.file);
  const dirty = usePlan(isDirty);
  const planning = useSlowPlanning();
  // A status figure: it may follow the table by a frame.
  const planMs = useDeferredValue(usePlan((s) => s.planMs));
  const issueCount = usePlan((s) => s.issues.length);
  const busy = usePlan((s) => s.busy);
  const [help, setHelp] = useState(false);
  const name = file?.name ?? 'untitled.yaml';
  return (
    <div className="plan-bar">
      <div className="doc-name" title={file?.path ?? 'Not saved yet'} data-testid="doc-name">
        <span className="doc-file">{name}</span>
        {dirty && (
          <span className="dirty" aria-label="unsaved changes" title="Unsaved changes">
            ●
          </span>
        )}
        {!file?.path && <span className="muted small">not saved</span>}
      </div>
      <button
        type="button"
        className="ghost"
        onClick={() => usePlan.getState().setDialog({ kind: 'open' })}
        title={`Open (${MOD}+O)`}
      >
        Open…
      </button>
      <button
        type="button"
        className="ghost"
        disabled={busy}
        onClick={() => void usePlan.getState().save()}
        title={`Save (${MOD}+S)`}
      >
        Save
      </button>
      <button
        type="button"
        className="ghost"
        onClick={() => usePlan.getState().setDialog({ kind: 'save-as' })}
        title={`Save as (${MOD}+Shift+S)`}
      >
        Save as…
      </button>
      <button
        type="button"
        className="primary"
        data-testid="plan-launch"
        disabled={issueCount > 0}
        // The Runs area previews the exact commands before anything starts.
        onClick={() => useRuns.getState().launchFromPlan(usePlan.getState().text)}
        title={issueCount > 0 ? 'Fix the config first' : 'Launch this config (preview first)'}
      >
        Launch…
      </button>
      <span className="sep" />
      <span
        className="plan-status muted"
        role="status"
        aria-live="polite"
        data-testid="plan-status"
      >
        {planning ? (
          <span className="spinner-text">Planning…</span>
        ) : issueCount > 0 ? (
          <span className="bad">
            {issueCount} problem{issueCount > 1 ? 's' : ''} in the config
          </span>
        ) : planMs ? (
          <>planned in {planMs.plan.toFixed(1)} ms</>
        ) : null}
      </span>
      <div className="help-wrap">
        <button
          type="button"
          className="ghost"
          aria-expanded={help}
          onClick={() => setHelp((h) => !h)}
          title="Keyboard shortcuts"
        >
          Keys
        </button>
        {help && (
          <div
            className="help-pop"
            role="dialog"
            aria-label="Keyboard shortcuts"
            onKeyDown={(e) => e.key === 'Escape' && setHelp(false)}
          >
            <dl>
              {SHORTCUTS.map(([k, v]) => (
                <div key={k}>
                  <dt>
                    <kbd>{k}</kbd>
                  </dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
          </div>
        )}
      </div>
    </div>
  );
}

function Notice() {
  const notice = usePlan((s) => s.notice);
  const busy = usePlan((s) => s.busy);
  useEffect(() => {
    if (notice?.kind !== 'info') return;
    const t = setTimeout(() => usePlan.getState().dismissNotice(), 4000);
    return () => clearTimeout(t);
  }, [notice]);
  if (!notice) return null;
  const st = usePlan.getState();
  return (
    <div
      className={`notice ${notice.kind}`}
      role={notice.kind === 'info' ? 'status' : 'alert'}
      data-testid="plan-notice"
    >
      <span>{notice.text}</span>
      {notice.kind === 'conflict' && (
        <>
          <button
            type="button"
            className="ghost small"
            disabled={busy}
            onClick={() => void st.save({ force: true })}
          >
            Overwrite
          </button>
          <button
            type="button"
            className="ghost small"
            disabled={busy}
            onClick={() => st.file?.path && void st.openPath(st.file.path)}
          >
            Reload from disk
          </button>
        </>
      )}
      <button
        type="button"
        className="dialog-x"
        aria-label="Dismiss"
        onClick={() => st.dismissNotice()}
      >
        ×
      </button>
    </div>
  );
}

function Problems() {
  const issues = usePlan((s) => s.issues);
  const planError = usePlan((s) => s.planError);
  const workerError = usePlan((s) => s.workerError);
  const hasPlan = usePlan((s) => s.plan !== null);
  if (!issues.length && !planError && !workerError) return null;
  return (
    <div className="problems" role="alert" data-testid="problems">
      <div className="problems-head">
        {issues.length > 0
          ? `${issues.length} problem${issues.length > 1 ? 's' : ''} in the config`
          : 'The planner could not plan this config'}
        {hasPlan && <span className="muted"> — the last good plan stays on the right</span>}
      </div>
      <ul>
        {issues.map((i, n) => (
          <li key={n}>
            <button type="button" className="link" onClick={() => revealLine(i.line, i.column)}>
              Line {i.line}:{i.column}
            </button>{' '}
            {i.path && <code>{i.path}</code>} {i.message}
          </li>
        ))}
        {planError && <li>{planError}</li>}
        {workerError && <li>Planner worker: {workerError}</li>}
      </ul>
    </div>
  );
}

function EmptyState() {
  const examples = usePlan((s) => s.examples);
  return (
    <div className="plan-empty" data-testid="plan-empty">
      <h1>Plan a long-context run</h1>
      <p className="muted">
        Open a run config, or start from one of the examples. Every layout that fits your cluster
        appears as you type.
      </p>
      <div className="example-cards">
        {examples.map((e) => (
          <button
            key={e.name}
            type="button"
            className="example-card"
            onClick={() => usePlan.getState().openDocument(e.text, exampleFile(e))}
          >
            <strong>{e.name}</strong>
            <span className="muted">{e.title}</span>
          </button>
        ))}
        {examples.length === 0 && <p className="muted">Loading the examples…</p>}
      </div>
      <button
        type="button"
        className="primary"
        onClick={() => usePlan.getState().setDialog({ kind: 'open' })}
      >
        Open a file… <kbd>{MOD}+O</kbd>
      </button>
    </div>
  );
}

/** The layouts the charts show: the table's first ones (all ranked when none fit), plus the selected. */
function chartRowsOf(
  plan: PlanResult | null,
  sort: { key: SortKey; dir: 'asc' | 'desc' },
  showInfeasible: boolean,
  selectedKey: string | null,
): Row[] {
  if (!plan) return [];
  const rows = tableRows(plan, sort, showInfeasible);
  const list = (rows.length ? rows : rankedRows(plan)).slice(0, CHART_LAYOUTS);
  const sel = selectedLayout(plan, selectedKey);
  if (sel && !list.some((r) => r.layout === sel)) {
    const r = rankedRows(plan).find((x) => x.layout === sel);
    if (r) list.push(r);
  }
  return list;
}

function Results() {
  const plan = usePlan((s) => s.plan);
  const issues = usePlan((s) => s.issues);
  const planError = usePlan((s) => s.planError);
  const selectedKey = usePlan((s) => s.selectedKey);
  const sort = usePlan((s) => s.sort);
  const showInfeasible = usePlan((s) => s.showInfeasible);
  const sweep = usePlan((s) => s.sweep);
  const sweepError = usePlan((s) => s.sweepError);
  const theme = useApp((s) => s.theme);

  // The table is live on every keystroke; the charts, the detail and the sweep follow once typing
  // pauses. Redrawing a few hundred SVG nodes per key would take the main thread from the table
  // (the 16 ms budget) for pictures nobody can read mid-keystroke anyway.
  const dPlan = useQuiet(plan, CHARTS_QUIET_MS);
  // The two layout charts redraw a frame apart rather than in one long task.
  const dPlan2 = useQuiet(dPlan, 60);
  const dSelectedKey = selectedKey;

  // Ask for the selected layout's sweep whenever the shown plan or the selection changes.
  useEffect(() => {
    if (dPlan) usePlan.getState().requestSweep();
  }, [dPlan, selectedKey]);

  const chartRows = useMemo(
    () => chartRowsOf(dPlan, sort, showInfeasible, dSelectedKey),
    [dPlan, sort, showInfeasible, dSelectedKey],
  );
  const chartRows2 = useMemo(
    () => chartRowsOf(dPlan2, sort, showInfeasible, dSelectedKey),
    [dPlan2, sort, showInfeasible, dSelectedKey],
  );
  const pal = useMemo(() => palette(theme), [theme]);
  const selected = selectedLayout(dPlan, dSelectedKey);
  const selKey = selected ? layoutKey(selected) : null;
  const onSelect = useMemo(() => (key: string) => usePlan.getState().select(key), []);

  if (!plan) {
    if (issues.length || planError) {
      return (
        <div className="results-placeholder" data-testid="plan-error-state">
          <h2>Nothing to plan yet</h2>
          <p className="muted">
            {planError ??
              'Fix the problems marked in the editor; the layouts appear as soon as the config is valid.'}
          </p>
        </div>
      );
    }
    return (
      <div className="results-placeholder" data-testid="plan-loading" aria-busy="true">
        <div className="skeleton" />
        <div className="skeleton short" />
        <div className="skeleton" />
        <p className="muted">Planning…</p>
      </div>
    );
  }

  const sweepForSelected =
    sweep && selected && sweep.key === selKey && sweep.seqLen === dPlan?.seq_len ? sweep : null;
  return (
    <div className="results">
      {(issues.length > 0 || planError) && (
        <div className="stale-banner" role="status" data-testid="stale-banner">
          Showing the last good plan — the config has{' '}
          {issues.length
            ? `${issues.length} problem${issues.length > 1 ? 's' : ''}`
            : 'a planner error'}
          .
        </div>
      )}
      <LayoutTable />
      {selected && dPlan && (
        <div className="detail-row">
          <LayoutDetail layout={selected} maxSeq={sweepForSelected?.maxSeq ?? null} />
          {sweepForSelected ? (
            <SweepChart
              points={sweepForSelected.points}
              maxSeq={sweepForSelected.maxSeq}
              seqLen={dPlan.seq_len}
              capacityBytes={dPlan.cluster.capacity_bytes}
              palette={pal}
            />
          ) : sweepError ? (
            <figure className="chart">
              <figcaption>Selected layout vs sequence length</figcaption>
              <p className="hf-error" role="alert">
                The sweep failed: {sweepError}
              </p>
            </figure>
          ) : (
            <figure className="chart chart-loading" aria-busy="true">
              <figcaption>Selected layout vs sequence length</figcaption>
              <div className="skeleton tall" />
            </figure>
          )}
        </div>
      )}
      {dPlan && chartRows.length > 0 && (
        <div className="chart-row">
          <MemoryChart
            rows={chartRows}
            selectedKey={selKey}
            capacityBytes={dPlan.cluster.capacity_bytes}
            palette={pal}
            onSelect={onSelect}
          />
          <CommChart
            rows={chartRows2}
            selectedKey={selKey}
            capacityBytes={(dPlan2 ?? dPlan).cluster.capacity_bytes}
            palette={pal}
            onSelect={onSelect}
          />
        </div>
      )}
      {dPlan && (
        <p className="muted small footnote">
          {dPlan.candidates} candidate layouts evaluated; the table keeps the best per ulysses ×
          ring × dp. Step times assume the calibrated efficiencies in resources/calibration.json.
          Best step:{' '}
          {dPlan.best !== null ? formatSeconds(dPlan.layouts[dPlan.best].step_time_s) : '—'}.
        </p>
      )}
    </div>
  );
}

export function PlanArea() {
  const opened = usePlan((s) => s.opened);
  const dialog = usePlan((s) => s.dialog);
  useShortcuts();
  useInitialDocument();
  return (
    <div className="plan">
      <FileBar />
      <Notice />
      {opened ? (
        <div className="plan-main">
          <div className="plan-left">
            <QuickControls onImport={() => usePlan.getState().setDialog({ kind: 'import' })} />
            <ConfigEditor />
            <Problems />
          </div>
          <div className="plan-right">
            <Results />
          </div>
        </div>
      ) : (
        <EmptyState />
      )}
      {dialog?.kind === 'open' && <OpenDialog />}
      {dialog?.kind === 'save-as' && <SaveAsDialog />}
      {dialog?.kind === 'import' && <HfImportDialog />}
    </div>
  );
}
