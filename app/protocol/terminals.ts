// The terminals area's part of the UI <-> host contract.
import { defineRequests, defineStreams } from './define';

export const terminalsRequests = defineRequests({});
export const terminalsStreams = defineStreams({});
