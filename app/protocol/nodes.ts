// The nodes area's part of the UI <-> host contract.
import { defineRequests, defineStreams } from './define';

export const nodesRequests = defineRequests({});
export const nodesStreams = defineStreams({});
