// Questions the host must ask a person: trust an unknown host key, a key passphrase, a password,
// keyboard-interactive prompts. The UI subscribes to `prompts.pending` and answers with
// `prompts.answer`. Answers are used once and never written to disk.
import { z } from 'zod';
import { defineRequests, defineStreams } from './define';

export const HostKeyInfo = z.object({
  host: z.string(),
  port: z.number().int(),
  /** The node or ProxyJump hop this key belongs to, as the user named it. */
  label: z.string(),
  keyType: z.string(),
  fingerprint: z.string().describe('SHA256:… as OpenSSH prints it'),
});

export const Prompt = z.discriminatedUnion('kind', [
  z.object({ id: z.string(), kind: z.literal('hostkey-unknown'), key: HostKeyInfo }),
  /** A changed key is never accepted from a prompt: the UI shows it and can only dismiss. */
  z.object({
    id: z.string(),
    kind: z.literal('hostkey-changed'),
    key: HostKeyInfo,
    knownFingerprints: z.array(z.string()),
    knownHostsFile: z.string(),
  }),
  z.object({
    id: z.string(),
    kind: z.literal('passphrase'),
    node: z.string(),
    keyFile: z.string(),
  }),
  z.object({ id: z.string(), kind: z.literal('password'), node: z.string(), user: z.string() }),
  z.object({
    id: z.string(),
    kind: z.literal('keyboard-interactive'),
    node: z.string(),
    name: z.string(),
    instructions: z.string(),
    prompts: z.array(z.object({ prompt: z.string(), echo: z.boolean() })),
  }),
]);
export type Prompt = z.infer<typeof Prompt>;

export const promptsRequests = defineRequests({
  'prompts.answer': {
    params: z.object({
      id: z.string(),
      /** accept/reject for host keys; `values` for secrets (one per keyboard-interactive prompt). */
      accept: z.boolean().optional(),
      values: z.array(z.string()).optional(),
    }),
    result: z.object({ ok: z.boolean() }),
  },
});

export const promptsStreams = defineStreams({
  /** Every open question, first the ones already waiting, then each new one; `closed` when settled. */
  'prompts.pending': {
    params: z.object({}),
    event: z.discriminatedUnion('type', [
      z.object({ type: z.literal('open'), prompt: Prompt }),
      z.object({ type: z.literal('closed'), id: z.string() }),
    ]),
  },
});
