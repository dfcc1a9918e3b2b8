// The prompts area's part of the UI <-> host contract.
import { defineRequests, defineStreams } from './define';

export const promptsRequests = defineRequests({});
export const promptsStreams = defineStreams({});
