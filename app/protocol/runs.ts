// The runs area's part of the UI <-> host contract.
import { defineRequests, defineStreams } from './define';

export const runsRequests = defineRequests({});
export const runsStreams = defineStreams({});
