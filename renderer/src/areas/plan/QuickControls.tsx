// Quick controls: the handful of fields an engineer turns while planning, synced both ways with
// the YAML. They read the document as the planner last saw it and write through the editor
// (comment-preserving edits, undoable), so the YAML stays the one source of truth.
import { memo, useDeferredValue, useEffect, useId, useState, type ReactNode } from 'react';
import { modelPresets } from '../../../../app/config';
import { gpuCatalog } from '../../../../app/planner/catalog';
import { formatBytes, formatSeqLen, nearestSeqStep, parseSeqLen, SEQ_STEPS } from './format';
import type { PlanResult } from '../../../../app/planner/types';
import { usePlan } from './store';
import type { FieldEdit } from './yaml-edit';

type Raw = {
  model?: { preset?: unknown; architecture?: unknown };
  training?: { seq_len?: unknown };
  parallel?: Record<string, unknown> & { offload?: Record<string, unknown> };
  cluster?: { gpu?: unknown; nodes?: unknown; gpus_per_node?: unknown };
};

const asRaw = (v: unknown): Raw => (v !== null && typeof v === 'object' ? (v as Raw) : {});
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

const PRESET_GROUPS = (() => {
  const groups = new Map<string, { id: string; label: string; params: number }[]>();
  for (const [id, p] of Object.entries(modelPresets)) {
    const family =
      p.architecture.family === 'llama'
        ? 'Llama'
        : p.architecture.family === 'qwen2'
          ? 'Qwen'
          : 'Mistral';
    if (!groups.has(family)) groups.set(family, []);
    groups.get(family)!.push({ id, label: p.label, params: p.published_params });
  }
  for (const list of groups.values()) list.sort((a, b) => a.params - b.params);
  return [...groups.entries()];
})();

const GPUS = Object.values(gpuCatalog).sort((a, b) =>
  a.id === 'cpu'
    ? 1
    : b.id === 'cpu'
      ? -1
      : b.memory_mib - a.memory_mib || a.label.localeCompare(b.label),
);

function Field({
  label,
  hint,
  children,
  id,
}: {
  label: string;
  hint?: string;
  children: ReactNode;
  id: string;
}) {
  return (
    <div className="qc-field" title={hint}>
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

/** A select for "auto" or a fixed value; a value not in the list (hand-typed) is shown too. */
function AutoSelect({
  id,
  value,
  options,
  path,
  disabled,
  format = String,
  testId,
}: {
  id: string;
  value: unknown;
  options: readonly (string | number | boolean)[];
  path: string[];
  disabled: boolean;
  format?: (v: string | number | boolean) => string;
  testId?: string;
}) {
  const current = value === undefined ? 'auto' : value;
  const all = options.some((o) => String(o) === String(current))
    ? options
    : [...options, current as string | number];
  return (
    <select
      id={id}
      data-testid={testId}
      disabled={disabled}
      value={String(current)}
      onChange={(e) => {
        const chosen = all.find((o) => String(o) === e.target.value);
        usePlan.getState().editFields([{ path, value: chosen }]);
      }}
    >
      {all.map((o) => (
        <option key={String(o)} value={String(o)}>
          {o === 'auto' ? 'auto' : o === null ? '(empty)' : format(o)}
        </option>
      ))}
    </select>
  );
}

/** A number input that writes on Enter or blur (typing "16" does not plan for 1 first). */
function NumberInput({
  id,
  value,
  path,
  disabled,
  min = 1,
  testId,
}: {
  id: string;
  value: unknown;
  path: string[];
  disabled: boolean;
  min?: number;
  testId?: string;
}) {
  const [draft, setDraft] = useState(str(value));
  useEffect(() => setDraft(str(value)), [value]);
  const commit = () => {
    const n = Number(draft);
    if (Number.isInteger(n) && n >= min) usePlan.getState().editFields([{ path, value: n }]);
    else setDraft(str(value));
  };
  return (
    <input
      id={id}
      data-testid={testId}
      type="number"
      inputMode="numeric"
      min={min}
      disabled={disabled}
      value={draft}
      onChange={(e) => setDraft(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
        if (e.key === 'Escape') setDraft(str(value));
      }}
    />
  );
}

function SeqLenControl({ value, disabled }: { value: unknown; disabled: boolean }) {
  const n = typeof value === 'number' ? value : NaN;
  const [draft, setDraft] = useState(Number.isFinite(n) ? formatSeqLen(n) : str(value));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    setDraft(Number.isFinite(n) ? formatSeqLen(n) : str(value));
    setBad(false);
  }, [n, value]);
  const write = (len: number) =>
    usePlan.getState().editFields([{ path: ['training', 'seq_len'], value: len }]);
  const commit = () => {
    const len = parseSeqLen(draft);
    if (len === null) return setBad(true);
    setBad(false);
    write(len);
  };
  const id = useId();
  return (
    <div className="qc-field qc-seq">
      <label htmlFor={id}>
        Sequence length <span className="muted">tokens</span>
      </label>
      <div className="qc-seq-row">
        <input
          type="range"
          aria-label="Sequence length (log scale, 4k to 4M)"
          data-testid="seq-slider"
          min={0}
          max={SEQ_STEPS.length - 1}
          step={1}
          disabled={disabled}
          value={Number.isFinite(n) ? nearestSeqStep(n) : 0}
          aria-valuetext={Number.isFinite(n) ? `${formatSeqLen(n)} tokens` : undefined}
          onChange={(e) => write(SEQ_STEPS[Number(e.target.value)])}
          list="seq-ticks"
        />
        <datalist id="seq-ticks">
          {SEQ_STEPS.map((s, i) =>
            Number.isInteger(Math.log2(s)) ? (
              <option key={s} value={i} label={formatSeqLen(s)} />
            ) : null,
          )}
        </datalist>
        <input
          id={id}
          className={bad ? 'invalid' : ''}
          aria-invalid={bad}
          data-testid="seq-input"
          type="text"
          spellCheck={false}
          disabled={disabled}
          value={draft}
          title="Exact length: 131072, 128k or 1M (k = 1024)"
          onChange={(e) => setDraft(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commit();
            if (e.key === 'Escape') setDraft(Number.isFinite(n) ? formatSeqLen(n) : str(value));
          }}
        />
      </div>
      <div className="qc-seq-scale" aria-hidden>
        <span>4k</span>
        <span>64k</span>
        <span>1M</span>
        <span>4M</span>
      </div>
    </div>
  );
}

const DEGREES = ['auto', 1, 2, 4, 8, 16, 32, 64] as const;
const CHUNKS = ['auto', 1, 2, 4, 8, 16, 32] as const;

/**
 * The controls follow each answer at a lower priority than the layout table: the render that
 * answers a keystroke is the table's alone (the 16 ms budget), and the controls catch up right
 * after it. A control's own edit still shows at once: it goes through the editor and comes back.
 */
export function QuickControls({ onImport }: { onImport(): void }) {
  const raw = useDeferredValue(usePlan((s) => s.raw));
  const editable = useDeferredValue(usePlan((s) => s.editable));
  const controlError = usePlan((s) => s.controlError);
  const plan = useDeferredValue(usePlan((s) => s.plan));
  return (
    <QuickControlsView
      rawValue={raw}
      editable={editable}
      controlError={controlError}
      plan={plan}
      onImport={onImport}
    />
  );
}

const QuickControlsView = memo(function QuickControlsView({
  rawValue,
  editable,
  controlError,
  plan,
  onImport,
}: {
  rawValue: unknown;
  editable: boolean;
  controlError: string | null;
  plan: PlanResult | null;
  onImport(): void;
}) {
  const raw = asRaw(rawValue);
  const disabled = !editable;
  const p = raw.parallel ?? {};
  const off = p.offload ?? {};
  const presetId = typeof raw.model?.preset === 'string' ? raw.model.preset : '';
  const custom = raw.model?.architecture !== undefined;
  const id = useId();

  const choosePreset = (v: string) => {
    // The architecture overrides a preset: choosing a preset means using it, so drop the override.
    const edits: FieldEdit[] = [{ path: ['model', 'preset'], value: v }];
    if (custom) edits.push({ path: ['model', 'architecture'], value: undefined });
    usePlan.getState().editFields(edits);
  };
  const world = Number(raw.cluster?.nodes ?? 1) * Number(raw.cluster?.gpus_per_node ?? 0);

  return (
    <section className="quick-controls" aria-label="Quick controls" data-testid="quick-controls">
      <div className="qc-row qc-top">
        <Field
          id={`${id}-model`}
          label="Model"
          hint="A preset from the catalog; Import sets an explicit architecture from a Hugging Face config.json"
        >
          <div className="qc-inline">
            <select
              id={`${id}-model`}
              data-testid="preset-select"
              disabled={disabled}
              value={custom ? '__custom' : presetId}
              onChange={(e) => choosePreset(e.target.value)}
            >
              {custom && (
                <option value="__custom">
                  Custom architecture{presetId ? ` (over ${presetId})` : ''}
                </option>
              )}
              {!custom && presetId && !modelPresets[presetId] && (
                <option value={presetId}>{presetId} (unknown)</option>
              )}
              {PRESET_GROUPS.map(([family, list]) => (
                <optgroup key={family} label={family}>
                  {list.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.label}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
            <button
              type="button"
              className="ghost small"
              onClick={onImport}
              title="Import a Hugging Face config.json (Alt+I)"
            >
              Import HF…
            </button>
          </div>
        </Field>
      </div>
      <div className="qc-row qc-hw">
        <Field id={`${id}-gpu`} label="GPU">
          <select
            id={`${id}-gpu`}
            data-testid="gpu-select"
            disabled={disabled}
            value={str(raw.cluster?.gpu)}
            onChange={(e) =>
              usePlan.getState().editFields([{ path: ['cluster', 'gpu'], value: e.target.value }])
            }
          >
            {raw.cluster?.gpu !== undefined && !gpuCatalog[str(raw.cluster.gpu)] && (
              <option value={str(raw.cluster.gpu)}>{str(raw.cluster.gpu)} (unknown)</option>
            )}
            {GPUS.map((g) => (
              <option key={g.id} value={g.id}>
                {g.id === 'cpu'
                  ? 'CPU (processes)'
                  : `${g.label} · ${formatBytes(g.memory_mib * 1024 * 1024)}`}
              </option>
            ))}
          </select>
        </Field>
        <div className="qc-field qc-cluster">
          <span className="qc-label" id={`${id}-cl`}>
            Nodes × GPUs{' '}
            <span className="muted">{Number.isFinite(world) && world > 0 ? `= ${world}` : ''}</span>
          </span>
          <div className="qc-inline" role="group" aria-labelledby={`${id}-cl`}>
            <NumberInput
              id={`${id}-nodes`}
              testId="nodes-input"
              value={raw.cluster?.nodes ?? 1}
              path={['cluster', 'nodes']}
              disabled={disabled}
            />
            <span aria-hidden>×</span>
            <NumberInput
              id={`${id}-gpn`}
              testId="gpus-input"
              value={raw.cluster?.gpus_per_node}
              path={['cluster', 'gpus_per_node']}
              disabled={disabled}
            />
          </div>
        </div>
      </div>
      <SeqLenControl value={raw.training?.seq_len} disabled={disabled} />
      <div className="qc-row qc-parallel">
        <Field id={`${id}-u`} label="Ulysses">
          <AutoSelect
            id={`${id}-u`}
            testId="ulysses-select"
            value={p.ulysses}
            options={DEGREES}
            path={['parallel', 'ulysses']}
            disabled={disabled}
          />
        </Field>
        <Field id={`${id}-r`} label="Ring">
          <AutoSelect
            id={`${id}-r`}
            testId="ring-select"
            value={p.ring}
            options={DEGREES}
            path={['parallel', 'ring']}
            disabled={disabled}
          />
        </Field>
        <Field id={`${id}-z`} label="ZeRO">
          <AutoSelect
            id={`${id}-z`}
            testId="zero-select"
            value={p.zero}
            options={['auto', 0, 1, 2, 3]}
            path={['parallel', 'zero']}
            disabled={disabled}
          />
        </Field>
        <Field id={`${id}-ck`} label="Checkpointing">
          <AutoSelect
            id={`${id}-ck`}
            testId="ckpt-select"
            value={p.checkpointing}
            options={['auto', 'none', 'selective', 'full']}
            path={['parallel', 'checkpointing']}
            disabled={disabled}
          />
        </Field>
        <Field id={`${id}-ch`} label="Chunks">
          <AutoSelect
            id={`${id}-ch`}
            testId="chunks-select"
            value={p.chunks}
            options={CHUNKS}
            path={['parallel', 'chunks']}
            disabled={disabled}
          />
        </Field>
      </div>
      <div className="qc-row qc-offload" role="group" aria-label="Offload to host memory">
        <span className="qc-label">Offload</span>
        {(['optimizer', 'params', 'activations'] as const).map((k) => (
          <Field key={k} id={`${id}-o-${k}`} label={k}>
            <AutoSelect
              id={`${id}-o-${k}`}
              testId={`offload-${k}`}
              value={off[k] ?? false}
              options={['auto', false, true]}
              format={(v) => (v === true ? 'on' : 'off')}
              path={['parallel', 'offload', k]}
              disabled={disabled}
            />
          </Field>
        ))}
      </div>
      {(controlError || (!editable && raw)) && (
        <p className="qc-note" role="status">
          {controlError ?? 'Fix the YAML to use the controls again.'}
        </p>
      )}
      {plan && (
        <p className="qc-summary muted" data-testid="model-summary">
          {formatParams(plan.model.params)} params · {plan.model.layers} layers · hidden{' '}
          {plan.model.hidden} · {plan.cluster.world} × {plan.cluster.gpu_label} ·{' '}
          {formatBytes(plan.cluster.capacity_bytes)} usable each
        </p>
      )}
    </section>
  );
});

function formatParams(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : `${(n / 1e6).toFixed(0)}M`;
}
