// The Python that runs training on this computer (the local target): SPINDLE_PYTHON when set,
// then the run config's python, then the usual places; the first that imports torch wins.
// (Nodes are searched the same way, remotely, by the launcher.)
import {
  parsePythonFinder,
  pythonCandidates,
  pythonFinderScript,
  type PythonFinding,
} from '../../app/launch';
import { LocalChannel } from '../nodes/local';

export function localPythonCandidates(preferred?: string): string[] {
  return pythonCandidates([process.env.SPINDLE_PYTHON || undefined, preferred]);
}

export async function findLocalPython(preferred?: string): Promise<PythonFinding> {
  const r = await new LocalChannel().exec('sh -s', {
    stdin: pythonFinderScript(localPythonCandidates(preferred)),
  });
  return parsePythonFinder(r.stdout);
}
