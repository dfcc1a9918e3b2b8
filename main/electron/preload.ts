// Exposes only the protocol to the page: send a wire message (checked against the contract)
// and listen for the host's. No ipcRenderer, no Node.
import { contextBridge, ipcRenderer } from 'electron';
import { ClientMessage, isRequestName, isStreamName, type HostMessage } from '../../app/protocol';
import { WIRE_CHANNEL } from './channel';

const api = {
  send(message: unknown): void {
    const m = ClientMessage.parse(message);
    if (m.t === 'req' && !isRequestName(m.method)) throw new Error(`unknown method ${m.method}`);
    if (m.t === 'sub' && !isStreamName(m.topic)) throw new Error(`unknown stream ${m.topic}`);
    ipcRenderer.send(WIRE_CHANNEL, m);
  },
  onMessage(listener: (m: HostMessage) => void): () => void {
    const wrapped = (_e: unknown, m: HostMessage) => listener(m);
    ipcRenderer.on(WIRE_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(WIRE_CHANNEL, wrapped);
  },
};

export type SpindleBridge = typeof api;
contextBridge.exposeInMainWorld('spindle', api);
