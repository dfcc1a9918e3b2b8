import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHost } from '../../host/create';
import { startServer } from '../../serve/server';
import { err, out, parse, UsageError, type Command } from '../command';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'open the studio in a browser (loopback only, token-protected)',
  usage: `Usage: spindle serve [--port N] [--open] [--json]

Serves the studio UI and its host on 127.0.0.1 only. Each start makes a new token; the printed
URL carries it. Connections without it are refused.
  --port N   listen on port N (default: a free port)
  --open     open the URL in the default browser
  --json     print {"url","port","token"} as one JSON line (for tools and tests)`,
  async run(argv) {
    const { values } = parse(
      argv,
      { port: { type: 'string' }, open: { type: 'boolean' }, json: { type: 'boolean' } },
      false,
    );
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port: not a port number: ${values.port}`);
    const host = createHost('serve');
    const server = await startServer({
      port,
      services: host.services,
      rendererDir: process.env.SPINDLE_RENDERER_DIR ?? path.join(__dirname, '..', 'renderer'),
    });
    if (values.json)
      out(JSON.stringify({ url: server.url, port: server.port, token: server.token }));
    else {
      out(`Spindle ${host.context.version} studio: ${server.url}`);
      out('Serving on 127.0.0.1 only. Ctrl+C stops it.');
    }
    if (values.open) openBrowser(server.url);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    await host.dispose();
    return 0;
  },
};

function openBrowser(url: string) {
  const cmd =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => err(`could not open a browser (${cmd}); open ${url} yourself`));
  child.unref();
}
