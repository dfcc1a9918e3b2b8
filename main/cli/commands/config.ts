import { autoFields, normalizeConfig, runConfigJsonSchema } from '../../../app/config';
import { out, parse, UsageError, type Command } from '../command';
import { readConfigFile } from '../config-file';

export const configCommand: Command = {
  name: 'config',
  summary: 'validate a run config, print it normalized, or print its JSON Schema',
  usage: `Usage: spindle config FILE.yaml [--normalize]
       spindle config --schema

Checks FILE.yaml against the run-config schema. Errors name the line, column and field.
  --normalize   print the normalized JSON the runtime reads (defaults filled, preset resolved)
  --schema      print the run config's JSON Schema`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      normalize: { type: 'boolean' },
      schema: { type: 'boolean' },
    });
    if (values.schema) {
      out(JSON.stringify(runConfigJsonSchema(), null, 2));
      return 0;
    }
    const [file] = positionals;
    if (!file || positionals.length > 1) throw new UsageError('expected one FILE.yaml');
    const config = readConfigFile(file);
    if (values.normalize) {
      out(JSON.stringify(normalizeConfig(config), null, 2));
    } else {
      const autos = autoFields(config);
      out(`${file}: valid${autos.length ? ` (the planner chooses ${autos.join(', ')})` : ''}`);
    }
    return 0;
  },
};
