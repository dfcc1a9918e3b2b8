// The files area's part of the UI <-> host contract.
import { defineRequests, defineStreams } from './define';

export const filesRequests = defineRequests({});
export const filesStreams = defineStreams({});
