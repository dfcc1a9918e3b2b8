// Files: open and save run configs on disk, recent files, and the shipped examples.
import { z } from 'zod';
import { defineRequests, defineStreams } from './define';

export const FileRef = z.object({ path: z.string(), name: z.string(), modifiedAt: z.number() });

export const filesRequests = defineRequests({
  'files.read': {
    params: z.object({ path: z.string().min(1) }),
    result: z.object({ path: z.string(), text: z.string(), modifiedAt: z.number() }),
  },
  /** Atomic write; refuses to overwrite a file changed on disk since `expectModifiedAt` unless forced. */
  'files.write': {
    params: z.object({
      path: z.string().min(1),
      text: z.string(),
      expectModifiedAt: z.number().optional(),
      force: z.boolean().default(false),
    }),
    result: z.object({ path: z.string(), modifiedAt: z.number() }),
  },
  'files.recent': { params: z.object({}), result: z.array(FileRef) },
  'files.examples': {
    params: z.object({}),
    result: z.array(z.object({ name: z.string(), title: z.string(), text: z.string() })),
  },
});

export const filesStreams = defineStreams({});
