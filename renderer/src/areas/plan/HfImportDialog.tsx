// Import a Hugging Face config.json as the model's architecture: pick the file or paste its text,
// see what was read (and what was not), then write it into the YAML in place of the preset.
import { useMemo, useRef, useState } from 'react';
import { importHfConfigText } from '../../../../app/config/hf-import';
import { Dialog } from '../../components/prompts/Dialog';
import { usePlan } from './store';

const FIELDS = [
  ['family', 'Family'],
  ['layers', 'Layers'],
  ['hidden', 'Hidden size'],
  ['heads', 'Attention heads'],
  ['kv_heads', 'KV heads'],
  ['head_dim', 'Head dim'],
  ['ffn', 'FFN size'],
  ['vocab', 'Vocabulary'],
  ['rope_theta', 'RoPE theta'],
  ['tie_embeddings', 'Tied embeddings'],
  ['qkv_bias', 'q/k/v bias'],
  ['norm_eps', 'RMSNorm eps'],
] as const;

export function HfImportDialog() {
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [readError, setReadError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const result = useMemo(() => (text.trim() ? importHfConfigText(text) : null), [text]);
  const close = () => usePlan.getState().setDialog(null);

  const apply = () => {
    if (!result?.ok) return;
    // The architecture overrides a preset; dropping the preset keeps the YAML unambiguous.
    const ok = usePlan.getState().editFields([
      { path: ['model', 'preset'], value: undefined },
      { path: ['model', 'architecture'], value: result.architecture },
    ]);
    if (ok) {
      usePlan.setState({
        notice: {
          kind: 'info',
          text: `Architecture of ${result.source} written to model.architecture.`,
        },
      });
      close();
    }
  };

  return (
    <Dialog
      title="Import a Hugging Face config.json"
      onCancel={close}
      testId="hf-dialog"
      className="wide"
      initialFocus={area}
      description="Sets model.architecture from the checkpoint's config.json (Llama, Qwen2 and Mistral families). Nothing leaves this computer."
      actions={
        <>
          <button type="button" className="ghost" onClick={close}>
            Cancel
          </button>
          <button
            type="button"
            className="primary"
            disabled={!result?.ok}
            onClick={apply}
            data-testid="hf-apply"
          >
            Use this architecture
          </button>
        </>
      }
    >
      <div className="qc-inline">
        <label className="ghost file-pick">
          <input
            type="file"
            accept=".json,application/json"
            data-testid="hf-file"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              setReadError(null);
              try {
                setText(await f.text());
                setFileName(f.name);
              } catch (err) {
                setReadError(`could not read ${f.name}: ${(err as Error).message}`);
              }
            }}
          />
        </label>
        {fileName && <span className="muted small">{fileName}</span>}
      </div>
      <label className="field-label" htmlFor="hf-text" style={{ marginTop: 10 }}>
        …or paste its contents
      </label>
      <textarea
        id="hf-text"
        ref={area}
        className="hf-text"
        data-testid="hf-text"
        spellCheck={false}
        placeholder='{ "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, … }'
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setFileName(null);
        }}
      />
      {readError && <p className="hf-error">{readError}</p>}
      {result && !result.ok && (
        <p className="hf-error" role="alert" data-testid="hf-error">
          {result.error}
        </p>
      )}
      {result?.ok && (
        <div className="hf-preview" data-testid="hf-preview">
          <dl className="facts">
            <dt>Source</dt>
            <dd>{result.source}</dd>
            {FIELDS.filter(([k]) => result.architecture[k] !== undefined).map(([k, label]) => (
              <div key={k} style={{ display: 'contents' }}>
                <dt>{label}</dt>
                <dd className="mono">{String(result.architecture[k])}</dd>
              </div>
            ))}
          </dl>
          {result.warnings.length > 0 && (
            <ul className="detail-notes">
              {result.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Dialog>
  );
}
