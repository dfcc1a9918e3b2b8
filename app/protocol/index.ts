// The whole UI <-> host contract: every request, reply and stream. Each area owns one file and
// this index joins them; transports and clients are typed from these maps.
import type { z } from 'zod';
import { hostRequests, hostStreams } from './host';
import { filesRequests, filesStreams } from './files';
import { nodesRequests, nodesStreams } from './nodes';
import { promptsRequests, promptsStreams } from './prompts';
import { runsRequests, runsStreams } from './runs';
import { terminalsRequests, terminalsStreams } from './terminals';

export * from './define';
export * from './wire';
export * from './host';

export const requests = {
  ...hostRequests,
  ...filesRequests,
  ...nodesRequests,
  ...promptsRequests,
  ...runsRequests,
  ...terminalsRequests,
};
export const streams = {
  ...hostStreams,
  ...filesStreams,
  ...nodesStreams,
  ...promptsStreams,
  ...runsStreams,
  ...terminalsStreams,
};

export type Requests = typeof requests;
export type Streams = typeof streams;
export type RequestName = keyof Requests;
export type StreamName = keyof Streams;
export type ParamsOf<M extends RequestName> = z.input<Requests[M]['params']>;
export type ResultOf<M extends RequestName> = z.output<Requests[M]['result']>;
export type StreamParamsOf<S extends StreamName> = z.input<Streams[S]['params']>;
export type EventOf<S extends StreamName> = z.output<Streams[S]['event']>;

export const isRequestName = (m: string): m is RequestName => Object.hasOwn(requests, m);
export const isStreamName = (s: string): s is StreamName => Object.hasOwn(streams, s);
