// JSON Schema of the run config for editors (Monaco) and other tools; exported to resources/schema.
import { z } from 'zod';
import { RunConfig } from './schema';

export function runConfigJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(RunConfig, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >),
    $id: 'https://spindle.dev/schema/run-config.v1.json',
    title: 'Spindle run config',
  };
}
